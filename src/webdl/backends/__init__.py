"""The backend interface and the device registry.

A backend stores tensor data in buffers of its own kind and runs *primitive ops*. A
primitive is a :class:`webdl.autograd.Function` subclass; it carries its name (by which a
backend finds its kernel), its shape rule, its numpy reference (``ref``) and its backward
rule. Everything else (softmax, conv2d, losses, ...) is written once on top of the
primitives. A backend may also run a composite op as one *fused* kernel: it names the op in
``fused`` and implements the matching :class:`webdl.autograd.Fused` op (for example
``webdl.ops.conv.Conv2d``), which has its own backward rule or recomputes the composite.

What a backend must provide:

- ``from_numpy(array, dtype) -> buf`` and ``to_numpy(buf, shape, dtype) -> ndarray``
- ``full(shape, value, dtype) -> buf``
- ``run(op, bufs, shapes, out_shape, out_dtype, attrs) -> buf``: run primitive ``op`` on
  the input buffers (whose shapes are ``shapes``)
- ``fused``: the set of composite ops it runs as fused kernels (may be empty)
- ``realize(buf)`` and ``realize_many(bufs)`` if it defers work (the WebGL backend's lazy
  elementwise chains): compute the buffers now
"""


class Backend:
    name = "?"
    fused = frozenset()

    def from_numpy(self, array, dtype):
        raise NotImplementedError

    def to_numpy(self, buf, shape, dtype):
        raise NotImplementedError

    def full(self, shape, value, dtype):
        raise NotImplementedError

    def run(self, op, bufs, shapes, out_shape, out_dtype, attrs):
        raise NotImplementedError

    def memory_stats(self):
        return {}

    def free(self, buf):
        pass

    def realize(self, buf):
        """Compute a buffer now if the backend deferred it (lazy fusion); returns it."""
        return buf

    def realize_many(self, bufs):
        """``realize`` for several buffers, in one kernel where the backend can."""
        return [self.realize(b) for b in bufs]


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
    from .webgl import WebGLBackend
    try:
        return WebGLBackend()
    except ImportError as e:  # pragma: no cover - depends on the platform
        raise RuntimeError(
            "device 'webgl' needs the browser runtime (Pyodide in a page with WebGL2); "
            f"it is not available here: {e}") from None


def _setup():
    from .numpy_backend import NumpyBackend
    register("cpu", NumpyBackend())
    register("webgl", loader=_load_webgl)


_setup()
