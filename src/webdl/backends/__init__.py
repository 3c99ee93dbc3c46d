"""The device registry: device names (``cpu``, ``webgl``, ``webgpu``) to backends (see ``base``)."""
from .base import Backend  # noqa: F401
from .numpy_backend import NumpyBackend
from .webgl import WebGLBackend, bridge as _bridge
from .webgpu import WebGPUBackend
from .flags import cudnn, cuda, mps  # noqa: F401 - PyTorch's switches, accepted, ignored


class Device:
    """A named place where tensors live: ``cpu`` (numpy reference) or ``webgl``."""

    __slots__ = ("type", "backend")

    def __init__(self, type_, backend):
        self.type = type_
        self.backend = backend

    def __repr__(self):
        return f"device(type='{self.type}')"

    def __str__(self):
        return self.type

    def __eq__(self, other):
        if isinstance(other, Device):
            return other.type == self.type
        if isinstance(other, str):
            return other.split(":")[0] == self.type
        return NotImplemented

    def __hash__(self):
        return hash(self.type)


_devices = {}
_loaders = {}
_default = ["cpu"]


def register(name, backend=None, loader=None):
    """Register a backend under a device name, or a loader that creates it on first use."""
    if backend is not None:
        _devices[name] = Device(name, backend)
    if loader is not None:
        _loaders[name] = loader


def device(d=None):
    """Return the Device for a name (``'cpu'``, ``'webgl'``), a Device, or the default."""
    if d is None:
        d = _default[0]
    if isinstance(d, Device):
        return d
    if not isinstance(d, str):
        d = getattr(d, "type", None) or str(d)
    name = d.split(":")[0]
    dev = _devices.get(name)
    if dev is None:
        if name in _loaders:
            register(name, _loaders[name]())
            return _devices[name]
        known = ", ".join(sorted(set(_devices) | set(_loaders)))
        raise RuntimeError(f"device: unknown device '{d}' (available here: {known})")
    return dev


def set_default_device(d):
    _default[0] = device(d).type


def get_default_device():
    return device()


def _load_webgl():
    """The WebGL backend, made on first use: it runs only in the browser runtime (the
    package imports anywhere; making the backend needs the JS bridge)."""
    try:
        return WebGLBackend()
    except ImportError as e:  # pragma: no cover - depends on the platform
        raise RuntimeError(
            "device 'webgl' needs the browser runtime (Pyodide in a page with WebGL2); "
            f"it is not available here: {e}") from None


def _load_webgpu():
    """The WebGPU backend (in progress), made on first use: it needs the browser runtime and
    a WebGPU adapter (the worker registers web/js/gpu.js only when the page has one)."""
    try:
        return WebGPUBackend()
    except ImportError as e:  # pragma: no cover - depends on the platform
        raise RuntimeError(
            "device 'webgpu' needs the browser runtime (Pyodide in a page with a WebGPU "
            f"adapter); it is not available here: {e}") from None


register("cpu", NumpyBackend())
register("webgl", loader=_load_webgl)
register("webgpu", loader=_load_webgpu)


def choose_default():
    """In a browser: ``webgl`` as the default device when the GPU is usable, ``cpu``
    otherwise. Returns the line that says which (None on CPython, where ``cpu`` is the one
    choice and nothing needs saying)."""
    try:
        _bridge.probe()
    except ImportError:
        return None
    try:
        set_default_device("webgl")
        info = device('webgl').backend.backend_info()
        line = f"webdl: default device 'webgl' ({info['renderer']})"
        if info["storage"] != "float32":    # the float16 path: say what it costs
            line += f"; no float32 render targets, so {info['precision']}"
    except RuntimeError as e:
        set_default_device("cpu")
        line = f"webdl: default device 'cpu' (the GPU is not usable: {e})"
    if _bridge.on_main_thread():
        line += ("\nwebdl: Python runs on this page's main thread, so the page is frozen while "
                 "it computes; run Pyodide in a Web Worker for a responsive page")
    return line
