"""The numpy reference backend: buffers are numpy arrays, each primitive runs its ``ref``.

It runs on CPython and in Pyodide and is the oracle the WebGL backend is tested against.
``NumpyBackend(np.float64)`` computes in double precision (used by the finite-difference
gradient checks).
"""
import numpy as np

from .base import Backend


class NumpyBackend(Backend):
    name = "numpy"

    def __init__(self, float_dtype=np.float32):
        self.float_dtype = np.dtype(float_dtype)
        self.fused = frozenset()

    def _np(self, dtype):
        return self.float_dtype if dtype.is_floating_point else dtype.np

    def from_numpy(self, array, dtype, constant=False):
        return np.array(array, dtype=self._np(dtype), copy=True)

    def to_numpy(self, buf, shape, dtype):
        return np.array(buf, dtype=self._np(dtype)).reshape(shape)

    def full(self, shape, value, dtype):
        return np.full(shape, value, dtype=self._np(dtype))

    def run(self, op, bufs, shapes, out_shape, out_dtype, attrs):
        with np.errstate(all="ignore"):
            out = op.ref(*bufs, **attrs)
        out = np.asarray(out)
        want = self._np(out_dtype)
        if out.dtype != want:
            out = out.astype(want)
        if out.shape != tuple(out_shape):
            raise AssertionError(f"{op.name}: reference produced shape {out.shape}, "
                                 f"shape rule says {tuple(out_shape)}")
        return out
