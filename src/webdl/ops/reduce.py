"""Reduction primitives: sum, amax, amin over a set of axes; argmax and argmin along one."""
import numpy as np

from .base import Op
from .. import dtypes


def norm_dim(op, d, ndim):
    n = max(ndim, 1)
    if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
        raise TypeError(f"{op}: dim must be an int, got {d!r}")
    if not -n <= d < n:
        raise IndexError(f"{op}: dim {d} is out of range for a tensor of {ndim} dims "
                         f"(expected in [{-n}, {n - 1}])")
    return int(d) % n if ndim else 0


def norm_dims(op, dim, ndim):
    """None -> all axes; int or sequence -> sorted unique non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        dim = (dim,)
    axes = tuple(sorted({norm_dim(op, d, ndim) for d in dim}))
    return tuple(a for a in axes if a < ndim) if ndim else ()


def reduced_shape(shape, axes, keepdim):
    if keepdim:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


class Reduce(Op):
    __slots__ = ()

    @classmethod
    def infer(cls, x, axes, keepdim):
        if cls.name != "sum":
            for a in axes:
                if x.shape[a] == 0:
                    raise IndexError(f"{cls.name}: cannot reduce over dim {a} of size 0 "
                                     f"(shape {tuple(x.shape)})")
            return reduced_shape(x.shape, axes, keepdim), x.dtype
        dt = dtypes.int64 if not x.dtype.is_floating_point else x.dtype
        return reduced_shape(x.shape, axes, keepdim), dt

    def _expand_back(self, t):
        x = self.inputs[0]
        axes, keepdim = self.attrs["axes"], self.attrs["keepdim"]
        if not keepdim:
            t = t.reshape(reduced_shape(x.shape, axes, True))
        return t.expand(x.shape)


class Sum(Reduce):
    name = "sum"
    saves = ()
    __slots__ = ()

    @staticmethod
    def ref(x, axes, keepdim):
        if not x.dtype.kind == "f":
            x = x.astype(np.int64)
        return np.sum(x, axis=axes, keepdims=keepdim)

    def backward(self, g):
        return (self._expand_back(g),)


class _Extreme(Reduce):
    __slots__ = ()

    def backward(self, g):
        # PyTorch's amax/amin: the gradient is shared evenly among tied extremes.
        x = self.inputs[0]
        mask = x == self._expand_back(self.out)
        count = mask.sum(dim=self.attrs["axes"], keepdim=True)
        return (self._expand_back(g) * mask / count,)


class Amax(_Extreme):
    name = "amax"
    saves = (0, "out")
    __slots__ = ()

    @staticmethod
    def ref(x, axes, keepdim):
        return np.max(x, axis=axes, keepdims=keepdim) if axes else x.copy()


class Amin(_Extreme):
    name = "amin"
    saves = (0, "out")
    __slots__ = ()

    @staticmethod
    def ref(x, axes, keepdim):
        return np.min(x, axis=axes, keepdims=keepdim) if axes else x.copy()


class _ArgReduce(Op):
    differentiable = False
    __slots__ = ()

    @classmethod
    def infer(cls, x, axis, keepdim):
        if x.shape[axis] == 0:
            raise IndexError(f"{cls.name}: cannot reduce over dim {axis} of size 0 "
                             f"(shape {tuple(x.shape)})")
        return reduced_shape(x.shape, (axis,), keepdim), dtypes.int64


class Argmax(_ArgReduce):
    name = "argmax"
    __slots__ = ()

    @staticmethod
    def ref(x, axis, keepdim):
        return np.argmax(x, axis=axis, keepdims=keepdim)  # the first NaN wins, as in PyTorch


class Argmin(_ArgReduce):
    name = "argmin"
    __slots__ = ()

    @staticmethod
    def ref(x, axis, keepdim):
        return np.argmin(x, axis=axis, keepdims=keepdim)
