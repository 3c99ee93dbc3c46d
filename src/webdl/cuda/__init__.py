"""``webdl.cuda``: what a CPU-only PyTorch program sees of CUDA, so that programs which
merely ask about it run. webdl has no CUDA: ``is_available()`` is False and
``device_count()`` 0, as on a PyTorch machine without a GPU.

Seeding (``manual_seed``, ``manual_seed_all``, ``seed``, ``seed_all``) is accepted and seeds
nothing: there is no CUDA generator; ``webdl.manual_seed`` seeds webdl's one generator.
The memory queries answer 0 and ``empty_cache()`` does nothing, as PyTorch's do before
CUDA is initialised. What needs a real GPU (``current_device``, ``synchronize``,
``get_device_name`` ...) raises, as in PyTorch, naming the devices webdl has.
"""
from . import amp  # noqa: F401

_DEVICES = "webdl has no CUDA; its devices are 'cpu' (numpy) and 'webgl' (the browser's GPU)"


def is_available():
    return False


def device_count():
    return 0


def is_initialized():
    return False


def is_bf16_supported(including_emulation=True):
    return False


def manual_seed(seed):
    """Accepted, seeds nothing (no CUDA generator); see ``webdl.manual_seed``."""


def manual_seed_all(seed):
    """Accepted, seeds nothing (no CUDA generator); see ``webdl.manual_seed``."""


def seed():
    """Accepted, seeds nothing (no CUDA generator)."""


def seed_all():
    """Accepted, seeds nothing (no CUDA generator)."""


def empty_cache():
    """Nothing to free: no CUDA memory."""


def memory_allocated(device=None):
    return 0


def max_memory_allocated(device=None):
    return 0


def memory_reserved(device=None):
    return 0


def max_memory_reserved(device=None):
    return 0


def _no_cuda(name):
    def missing(*args, **kwargs):
        raise RuntimeError(f"webdl.cuda.{name}(): {_DEVICES}")
    missing.__name__ = name
    missing.__doc__ = f"Raises: {_DEVICES}."
    return missing


current_device = _no_cuda("current_device")
set_device = _no_cuda("set_device")
synchronize = _no_cuda("synchronize")
get_device_name = _no_cuda("get_device_name")
get_device_properties = _no_cuda("get_device_properties")
get_device_capability = _no_cuda("get_device_capability")
get_rng_state = _no_cuda("get_rng_state")
set_rng_state = _no_cuda("set_rng_state")
initial_seed = _no_cuda("initial_seed")
mem_get_info = _no_cuda("mem_get_info")
reset_peak_memory_stats = _no_cuda("reset_peak_memory_stats")


def __getattr__(name):
    raise AttributeError(f"module 'webdl.cuda' has no attribute '{name}' ({_DEVICES})")
