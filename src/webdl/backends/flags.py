"""PyTorch's accelerator switches, accepted and ignored: ``webdl.backends.cudnn``,
``webdl.backends.cuda`` and ``webdl.backends.mps``.

webdl has no CUDA, cuDNN or MPS, so CPU-only PyTorch programs that merely set these flags
(``cudnn.benchmark = True``, ``cuda.matmul.allow_tf32 = True``) run unchanged: the flags
keep what is assigned and change nothing, and the ``is_available()`` queries answer False,
as PyTorch's do on a machine without those devices. webdl computes in float32 on every
device and its kernels are deterministic whatever ``deterministic`` says.

Each namespace is also registered as a module, so ``import webdl.backends.cudnn as cudnn``
works as ``import torch.backends.cudnn as cudnn`` does.
"""
import sys
import types


def _namespace(name, doc, **attrs):
    mod = types.ModuleType(f"webdl.backends.{name}", doc)
    mod.__dict__.update(attrs)
    sys.modules[mod.__name__] = mod
    return mod


def _false():
    return False


def _none():
    return None


def _ignore(enabled):
    return None


def _true():
    return True


cudnn = _namespace(
    "cudnn", "cuDNN switches (no cuDNN in webdl: accepted, ignored).",
    enabled=True, benchmark=False, deterministic=False, allow_tf32=True,
    benchmark_limit=10, is_available=_false, version=_none)

cuda = _namespace(
    "cuda", "CUDA switches (no CUDA in webdl: accepted, ignored).",
    matmul=types.SimpleNamespace(allow_tf32=False,
                                 allow_fp16_reduced_precision_reduction=True,
                                 allow_bf16_reduced_precision_reduction=True),
    is_built=_false, enable_flash_sdp=_ignore, enable_mem_efficient_sdp=_ignore,
    enable_math_sdp=_ignore, flash_sdp_enabled=_false, mem_efficient_sdp_enabled=_false,
    math_sdp_enabled=_true)

mps = _namespace("mps", "Apple MPS (not in webdl).", is_available=_false, is_built=_false)

_matmul_precision = ["highest"]


def set_float32_matmul_precision(precision):
    """Accepted like PyTorch's (``"highest"``, ``"high"``, ``"medium"``); webdl's matmuls
    are always plain float32, PyTorch's ``"highest"``."""
    if precision not in ("highest", "high", "medium"):
        raise ValueError(f"set_float32_matmul_precision: expected 'highest', 'high' or "
                         f"'medium', got {precision!r}")
    _matmul_precision[0] = precision


def get_float32_matmul_precision():
    return _matmul_precision[0]
