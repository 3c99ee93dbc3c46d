"""webdl.nn.utils: gradient clipping, parameter/vector conversion, packed sequences
(``rnn``) and ``skip_init``, as torch.nn.utils."""
import inspect

from .. import init
from .clip_grad import (clip_grad_norm_, clip_grad_norm, clip_grad_value_,  # noqa: F401
                        get_total_norm, clip_grads_with_norm_)
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from . import rnn  # noqa: F401

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grads_with_norm_", "clip_grad_value_",
           "get_total_norm", "parameters_to_vector", "vector_to_parameters", "skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """``torch.nn.utils.skip_init``: ``module_cls(*args, **kwargs)`` without initialising its
    parameters and buffers (nothing drawn or uploaded: they hold zeros, which a GPU backend
    keeps as a lazy constant), for weights loaded or set afterwards. As in PyTorch the
    class must take a ``device`` argument."""
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    with init.skipped():
        return module_cls(*args, **kwargs)

_MISSING = ("parametrizations", "parametrize", "stateless", "spectral_norm",
            "remove_spectral_norm", "weight_norm", "remove_weight_norm",
            "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
            "fuse_linear_bn_weights", "convert_conv2d_weight_memory_format",
            "convert_conv3d_weight_memory_format")


def __getattr__(name):
    if name in _MISSING:
        raise AttributeError(f"webdl.nn.utils.{name}: PyTorch's torch.nn.utils.{name} is not "
                             "implemented in webdl")
    raise AttributeError(f"module 'webdl.nn.utils' has no attribute {name!r}")
