"""The device registry: device names (``cpu``, ``webgl``, ``webgpu``) to backends (see ``base``)."""
from .base import Backend  # noqa: F401
from .numpy_backend import NumpyBackend
from .webgl import WebGLBackend, bridge as _bridge
from .webgpu import WebGPUBackend, bridge as _gpu_bridge
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


def started():
    """The names of the devices whose backends have been made (a GPU backend is made when
    first used)."""
    return list(_devices)


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
    """The WebGPU backend, made on first use: it needs the browser runtime and
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


# how the default device was chosen: {"device", "why"} (``webdl.backend_info()`` reports it)
_choice = {"device": "cpu", "why": "no browser runtime: the numpy backend is the one device"}
DEVICE_NAMES = ("cpu", "webgl", "webgpu")


def _webgpu_choice():
    """(usable, why): WebGPU is chosen where the page has a hardware adapter (a software
    fallback adapter, SwiftShader's, is slower than WebGL there) and Python can wait on it."""
    try:
        info = _gpu_bridge.probe()
    except ImportError:
        return False, "no WebGPU in this runtime (webdl's worker registers it where the " \
                      "browser has an adapter and JSPI)"
    if not info.get("ok"):
        return False, "WebGPU is not usable: " + str(info.get("error"))
    if info.get("isFallbackAdapter"):
        return False, "the WebGPU adapter is a software fallback"
    return True, "a hardware WebGPU adapter (" + \
        (" ".join(filter(None, (info.get("vendor"), info.get("architecture")))) or "?") + ")"


def _use(name):
    """Make ``name`` the default device: the line describing it (RuntimeError when its
    backend cannot start)."""
    set_default_device(name)
    be = device(name).backend
    what = (be.info.get("renderer") if name == "webgl" else
            be.info.get("description") or be.info.get("vendor") if name == "webgpu" else
            "numpy")
    line = f"webdl: default device '{name}' ({what})"
    info = be.backend_info()
    if info["storage"] != "float32":    # the float16 path: say what it costs
        line += f"; no float32 render targets, so {info['precision']}"
    return line


def choose_default():
    """In a browser: the fastest usable device becomes the default -- ``webgpu`` where the
    page has a hardware WebGPU adapter, else ``webgl`` where WebGL2 works, else ``cpu`` --
    unless the host forces one (``webdlConfig.device``, the page's ``?device=``). Returns
    the line that says which and why (None on CPython, where ``cpu`` is the one choice);
    ``backend_info()`` keeps the reason."""
    try:
        _bridge.probe()
    except ImportError:
        return None
    forced = _bridge.config_value("device")
    reasons = []
    if forced:
        if forced not in DEVICE_NAMES:
            reasons.append(f"device={forced!r} is not one of {', '.join(DEVICE_NAMES)}")
        else:
            try:
                line = _use(forced)
                _choice.update(device=forced, why=f"forced (device={forced})")
                return _finish(line + " -- forced")
            except RuntimeError as e:
                reasons.append(f"forced device '{forced}' is not usable: {e}")
    ok, why = _webgpu_choice()
    candidates = (["webgpu"] if ok else []) + ["webgl"]
    if not ok:
        reasons.append(why)
    for name in candidates:
        try:
            line = _use(name)
            why_this = why if name == "webgpu" else "; ".join(reasons) or "WebGL2 works"
            _choice.update(device=name, why=why_this)
            return _finish(line + (f" -- {why_this}" if reasons else ""))
        except RuntimeError as e:
            reasons.append(f"{name} is not usable: {e}")
    set_default_device("cpu")
    _choice.update(device="cpu", why="; ".join(reasons))
    return _finish(f"webdl: default device 'cpu' (the GPU is not usable: {'; '.join(reasons)})")


def _finish(line):
    if _bridge.on_main_thread():
        line += ("\nwebdl: Python runs on this page's main thread, so the page is frozen while "
                 "it computes; run Pyodide in a Web Worker for a responsive page")
    return line


def backend_info():
    """Which device is the default and why, and what each GPU backend found at start-up."""
    out = {"default": _default[0], "chosen": dict(_choice)}
    try:
        out["webgl"] = _bridge.gpu_info()
    except ImportError as e:
        out["webgl"] = {"ok": False, "error": str(e)}
    try:
        out["webgpu"] = _gpu_bridge.probe()
    except ImportError as e:
        out["webgpu"] = {"ok": False, "error": str(e)}
    return out
