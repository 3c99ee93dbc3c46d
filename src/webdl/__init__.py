"""webdl: PyTorch-style deep learning for Python, on numpy or on WebGL2 in the browser."""
from .dtypes import float32, int64, bool_ as bool, float, long, dtype  # noqa: A004
from .dtypes import (float64, double, float16, half, bfloat16, int32, int16, short,  # noqa: F401
                     int8, uint8, finfo, iinfo)
from .dtypes import int32 as int  # noqa: F401,A004 - torch.int; the same object as int64 here
from . import backends as _backends
from .backends import device, set_default_device, get_default_device, Device
from .autograd import no_grad, enable_grad, is_grad_enabled
from .autograd import inference_mode, set_grad_enabled, is_inference_mode_enabled  # noqa: F401
from .random import manual_seed, seed, Generator
from .tensor import (Tensor, Size, tensor, as_tensor, from_numpy, zeros, ones, empty, full,
                     zeros_like, ones_like, empty_like, full_like, rand_like, randn_like, arange,
                     linspace, rand, randn, randint, randperm, eye)
from .functions import FUNCTIONS as _FUNCTIONS
from . import nn, optim, utils  # noqa: F401
from .nn import functional  # noqa: F401
from .serialization import save, load  # noqa: F401
from . import cuda, amp, accelerator  # noqa: F401 - CUDA and mixed precision: absent, stubs
from .amp import autocast, is_autocast_enabled  # noqa: F401
from .backends.flags import (set_float32_matmul_precision,  # noqa: F401
                             get_float32_matmul_precision)
from .display import show, plot  # noqa: F401
from .suggest import suggest_device  # noqa: F401
from .compile import compile  # noqa: F401,A004 - torch.compile

globals().update(_FUNCTIONS)    # webdl.sum, webdl.cat, ...: the functions' one table

__version__ = "0.1.0"

_line = _backends.choose_default()   # webgpu, else webgl, where usable; else cpu
if _line and not _backends._bridge.quiet():
    print(_line)


def backend_info(device=None):
    """How a device (the default one unless named) computes: ``{device, storage, precision}``,
    for WebGL also the renderer. On a GPU without float32 render targets WebGL runs on
    float16 storage and says so here: ``storage`` is ``'float16'`` and ``precision`` states
    it. On the GPU devices, ``kernels``: which kernel variants this GPU chose by measurement
    and their times (``webdl/backends/tuning.py``). Also which device is the default and why
    (``default``, ``chosen``), and what each GPU backend found at start-up (``webgl``,
    ``webgpu``)."""
    d = _backends.device(device)
    return {"device": d.type, **d.backend.backend_info(), **_backends.backend_info()}


def memory_stats(device=None):
    """Memory of ``device`` (default: the default device), as ``torch.cuda.memory_stats``.
    On WebGL and WebGPU: PyTorch's keys ``allocated_bytes.all.current``/``.peak`` (bytes of
    live tensors' textures or buffers), ``reserved_bytes.all.current``/``.peak`` (those plus
    the pool of freed ones kept for reuse), ``allocation.all.current``/``.peak`` (live
    textures or buffers) and ``segment.all.current`` (all held), beside webdl's own:
    ``textures`` (WebGL) or ``buffers`` (WebGPU), ``bytes``, ``pooledBytes``, ``limitBytes``,
    the draw/dispatch, upload, readback and compile counts. Empty for the numpy backend
    (``cpu``), whose arrays are numpy's."""
    return _backends.device(device).backend.memory_stats()


def _memory_stat(device, key, name):
    stats = memory_stats(device)
    if key not in stats:
        raise RuntimeError(f"webdl.{name}(): the {_backends.device(device)} device keeps no "
                           "memory statistics (the numpy backend's arrays are numpy's)")
    return stats[key]


def memory_allocated(device=None):
    """Bytes held by live tensors on ``device`` (``torch.cuda.memory_allocated``)."""
    return _memory_stat(device, "allocated_bytes.all.current", "memory_allocated")


def max_memory_allocated(device=None):
    """The most bytes live tensors held since start-up or ``reset_peak_memory_stats``."""
    return _memory_stat(device, "allocated_bytes.all.peak", "max_memory_allocated")


def memory_reserved(device=None):
    """Bytes held on ``device``: live tensors' plus the pool kept for reuse."""
    return _memory_stat(device, "reserved_bytes.all.current", "memory_reserved")


def max_memory_reserved(device=None):
    """The most bytes held since start-up or ``reset_peak_memory_stats``."""
    return _memory_stat(device, "reserved_bytes.all.peak", "max_memory_reserved")


def empty_cache(device=None):
    """Give back the textures or buffers that freed tensors left in ``device``'s pool
    (``torch.cuda.empty_cache``): reserved drops to allocated. Live tensors are untouched;
    nothing to do on the numpy backend."""
    _backends.device(device).backend.empty_cache()


def reset_peak_memory_stats(device=None):
    """Start the peaks of ``memory_stats`` (``*.peak``) again from the current values."""
    _backends.device(device).backend.reset_peak_memory_stats()
