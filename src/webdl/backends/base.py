"""The backend interface.

A backend stores tensor data in buffers of its own kind and runs *primitive ops*: the
:class:`webdl.ops.Op` specs listed in ``webdl.ops.PRIMITIVES``, each with its kernel name,
shape rule, numpy reference (``ref``) and backward rule. Everything else (softmax, losses,
pooling, ...) is written once on top of the primitives. A backend may also run a composite
op as one *fused* kernel: it names the op in ``fused`` and runs the matching
:class:`webdl.ops.Fused` op (``webdl.ops.conv.Conv2d``); other backends run its
``decompose``.

What a backend must provide:

- ``from_numpy(array, dtype) -> buf`` and ``to_numpy(buf, shape, dtype) -> ndarray``
- ``full(shape, value, dtype) -> buf``
- ``from_pixels(array, scale)`` / ``to_pixels(buf, shape)``: images (uint8) to and from
  float32 buffers; written here with the two calls above, a GPU backend may move bytes
- ``run(op, bufs, shapes, out_shape, out_dtype, attrs) -> buf``: run primitive ``op`` on
  the input buffers (whose shapes are ``shapes``)
- ``fused``: the set of composite ops it runs as fused kernels (may be empty)
- ``realize(buf)`` / ``realize_many(bufs)``: compute deferred buffers now (lazy backends)
- ``settle(buf)``: a tensor's new contents after an in-place write (see there)
- ``has_kernel(name)``: False for a primitive it cannot run yet (a backend in progress);
  the functions above then write that op with others where they can (softmax)
"""
import numpy as np

from ..dtypes import float32


class Backend:
    name = "?"
    fused = frozenset()
    storage = "float32"     # how float tensors are stored (WebGL's float16 path: "float16")
    # a backend that records a call's GPU work and replays it (``webdl.compile``) sets this
    # and has record_begin / record_cancel / record_end / replay (see the WebGPU backend)
    records = False

    def from_numpy(self, array, dtype, constant=False):
        """A buffer holding ``array``; ``constant``: its values follow from the shapes and
        plain arguments of the code that makes it (arange, linspace, eye), so a recorded call
        (``webdl.compile``) may keep it for its replays."""
        raise NotImplementedError

    def to_numpy(self, buf, shape, dtype):
        raise NotImplementedError

    def full(self, shape, value, dtype):
        raise NotImplementedError

    def from_pixels(self, array, scale):
        """A float32 buffer of uint8 ``array``'s values times ``scale`` (an image; a GPU
        backend may upload the bytes and convert them there)."""
        return self.from_numpy(np.asarray(array, dtype=np.float32) * np.float32(scale), float32)

    def to_pixels(self, buf, shape):
        """Float32 buffer ``buf`` as a uint8 array: each value clamped to 0..255 and rounded
        half to even (a GPU backend may convert there and read back a quarter of the bytes)."""
        v = self.to_numpy(buf, shape, float32)
        return np.clip(np.rint(v), 0, 255).astype(np.uint8)

    def run(self, op, bufs, shapes, out_shape, out_dtype, attrs):
        raise NotImplementedError

    def memory_stats(self):
        """A dict of memory statistics (``webdl.memory_stats``); empty where the backend keeps
        none (numpy: its arrays are numpy's, freed by Python as they go)."""
        return {}

    def backend_info(self):
        """How it stores values and how precisely (``webdl.backend_info``)."""
        return {"storage": self.storage, "precision": "float32 storage and arithmetic"}

    def empty_cache(self):
        """Give back the memory kept for reuse (nothing where none is kept)."""

    def reset_peak_memory_stats(self):
        """Start the peaks of ``memory_stats`` again from the current values."""

    def has_kernel(self, name):
        return True

    def free(self, buf):
        pass

    def realize(self, buf):
        """Compute a buffer now if the backend deferred it (lazy fusion); returns it."""
        return buf

    def realize_many(self, bufs):
        """``realize`` for several buffers, in one kernel where the backend can."""
        return [self.realize(b) for b in bufs]

    def settle(self, buf):
        """The buffer to keep as a storage's contents after an in-place write (``copy_``,
        ``add_``, an optimizer's new parameter and state): it outlives the step, so it is
        computed now -- a lazy backend may hold it a little and compute it with the step's
        other writes (see DeviceMemory.settle)."""
        return self.realize(buf)
