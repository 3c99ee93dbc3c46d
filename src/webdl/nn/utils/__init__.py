"""webdl.nn.utils: gradient clipping, parameter/vector conversion and packed sequences
(``rnn``), as torch.nn.utils."""
from .clip_grad import (clip_grad_norm_, clip_grad_norm, clip_grad_value_,  # noqa: F401
                        get_total_norm, clip_grads_with_norm_)
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from . import rnn  # noqa: F401

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grads_with_norm_", "clip_grad_value_",
           "get_total_norm", "parameters_to_vector", "vector_to_parameters"]

_MISSING = ("parametrizations", "parametrize", "stateless", "spectral_norm",
            "remove_spectral_norm", "weight_norm", "remove_weight_norm", "skip_init",
            "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
            "fuse_linear_bn_weights", "convert_conv2d_weight_memory_format",
            "convert_conv3d_weight_memory_format")


def __getattr__(name):
    if name in _MISSING:
        raise AttributeError(f"webdl.nn.utils.{name}: PyTorch's torch.nn.utils.{name} is not "
                             "implemented in webdl")
    raise AttributeError(f"module 'webdl.nn.utils' has no attribute {name!r}")
