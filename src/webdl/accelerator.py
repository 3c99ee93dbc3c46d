"""``webdl.accelerator``: PyTorch's device-agnostic accelerator queries. webdl reports none
(CUDA, MPS, XPU ... are absent), so programs written as
``device = torch.accelerator.current_accelerator() if torch.accelerator.is_available()
else "cpu"`` pick the CPU. The browser's WebGL device is chosen explicitly
(``device="webgl"``), not through this module."""


def is_available():
    return False


def device_count():
    return 0


def current_accelerator(check_available=False):
    return None


def current_device_index():
    raise RuntimeError("webdl.accelerator: no accelerator is available (webdl's devices are "
                       "'cpu' and 'webgl')")


current_device_idx = current_device_index


def __getattr__(name):
    raise AttributeError(f"module 'webdl.accelerator' has no attribute '{name}' (webdl has no "
                         "accelerator devices; its devices are 'cpu' and 'webgl')")
