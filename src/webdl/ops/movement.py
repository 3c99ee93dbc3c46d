"""Movement primitives: reshape, permute, expand, slice/unslice, flip, cat, gather/scatter_add.

Each is the backward of another (slice <-> unslice, gather <-> scatter_add, expand -> sum),
so a backend implements this small closed set and every view-like op is built from it.
"""
import numpy as np

from .base import Op
from .elementwise import unbroadcast


class Reshape(Op):
    name = "reshape"
    saves = ()
    view = True
    __slots__ = ()

    @classmethod
    def infer(cls, x, shape):
        return shape, x.dtype

    @staticmethod
    def ref(x, shape):
        return x.reshape(shape)

    def backward(self, g):
        return (g.reshape(self.inputs[0].shape),)


class Permute(Op):
    name = "permute"
    saves = ()
    view = True
    __slots__ = ()

    @classmethod
    def infer(cls, x, dims):
        return tuple(x.shape[d] for d in dims), x.dtype

    @staticmethod
    def ref(x, dims):
        return np.transpose(x, dims)

    def backward(self, g):
        return (Permute.apply(g, dims=tuple(np.argsort(self.attrs["dims"]).tolist())),)


class Expand(Op):
    name = "expand"
    saves = ()
    view = True
    __slots__ = ()

    @classmethod
    def infer(cls, x, shape):
        return shape, x.dtype

    @staticmethod
    def ref(x, shape):
        return np.broadcast_to(x, shape)

    def backward(self, g):
        return (unbroadcast(g, self.inputs[0].shape),)


class Slice(Op):
    """out[i] = x[start + i * step] along every axis (step >= 1)."""
    name = "slice"
    saves = ()
    view = True
    __slots__ = ()

    @classmethod
    def infer(cls, x, starts, steps, shape):
        return shape, x.dtype

    @staticmethod
    def ref(x, starts, steps, shape):
        return x[tuple(slice(s, s + n * st, st) for s, st, n in zip(starts, steps, shape))]

    def backward(self, g):
        a = self.attrs
        return (Unslice.apply(g, starts=a["starts"], steps=a["steps"],
                              shape=tuple(self.inputs[0].shape), value=0.0),)


class Unslice(Op):
    """The adjoint of Slice: ``value`` everywhere, x placed at start + i * step."""
    name = "unslice"
    saves = ()
    __slots__ = ()

    @classmethod
    def infer(cls, x, starts, steps, shape, value):
        return shape, x.dtype

    @staticmethod
    def ref(x, starts, steps, shape, value):
        out = np.full(shape, value, dtype=x.dtype)
        out[tuple(slice(s, s + n * st, st) for s, st, n in zip(starts, steps, x.shape))] = x
        return out

    def backward(self, g):
        a = self.attrs
        return (Slice.apply(g, starts=a["starts"], steps=a["steps"],
                            shape=tuple(self.inputs[0].shape)),)


class Flip(Op):
    name = "flip"
    saves = ()
    __slots__ = ()

    @classmethod
    def infer(cls, x, dims):
        return x.shape, x.dtype

    @staticmethod
    def ref(x, dims):
        return np.flip(x, dims)

    def backward(self, g):
        return (Flip.apply(g, dims=self.attrs["dims"]),)


class Cat(Op):
    name = "cat"
    saves = ()
    __slots__ = ()

    @classmethod
    def infer(cls, *xs, axis):
        shape = list(xs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        return tuple(shape), xs[0].dtype

    @staticmethod
    def ref(*xs, axis):
        return np.concatenate(xs, axis=axis)

    def backward(self, g):
        axis = self.attrs["axis"]
        out, start = [], 0
        for x in self.inputs:
            n = x.shape[axis]
            if x.requires_grad:
                starts = [0] * g.ndim
                starts[axis] = start
                out.append(Slice.apply(g, starts=tuple(starts), steps=(1,) * g.ndim,
                                       shape=tuple(x.shape)))
            else:
                out.append(None)
            start += n
        return tuple(out)


class Gather(Op):
    """torch.gather: out[..., i, ...] = x[..., index[..., i, ...], ...] along ``axis``."""
    name = "gather"
    saves = (1,)
    __slots__ = ()

    @classmethod
    def infer(cls, x, index, axis):
        return index.shape, x.dtype

    @staticmethod
    def ref(x, index, axis):
        idx = index.astype(np.int64)
        if x.ndim and idx.size:
            lead = tuple(slice(0, n) for n in idx.shape)
            x = x[tuple(s if i != axis else slice(None) for i, s in enumerate(lead))]
        return np.take_along_axis(x, idx, axis=axis)

    def backward(self, g):
        x, index = self.inputs
        return (ScatterAdd.apply(g, index, axis=self.attrs["axis"], shape=tuple(x.shape)),
                None)


class ScatterAdd(Op):
    """zeros(shape), then out[..., index[..., i, ...], ...] += src[..., i, ...] along ``axis``."""
    name = "scatter_add"
    saves = (1,)
    __slots__ = ()

    @classmethod
    def infer(cls, src, index, axis, shape):
        return shape, src.dtype

    @staticmethod
    def ref(src, index, axis, shape):
        out = np.zeros(shape, dtype=src.dtype)
        idx = list(np.indices(index.shape, sparse=True))
        idx[axis] = index.astype(np.int64)
        np.add.at(out, tuple(idx), src[tuple(slice(0, n) for n in index.shape)])
        return out

    def backward(self, g):
        src, index = self.inputs
        return (Gather.apply(g, index, axis=self.attrs["axis"]), None)
