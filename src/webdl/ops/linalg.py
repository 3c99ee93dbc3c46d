"""Matmul (batched, broadcasting batch dims) and the im2col pair unfold/fold."""
import numpy as np

from .base import Op
from .elementwise import broadcast_shapes, unbroadcast


class Matmul(Op):
    """(..., n, k) @ (..., k, m) -> (..., n, m); both inputs at least 2-D. With ``tb`` the
    second is a matrix given as (m, k) and read transposed (``F.linear``'s weight: no
    transpose op of its own, forward or backward)."""
    name = "matmul"
    saves = (0, 1)
    __slots__ = ()

    @classmethod
    def infer(cls, a, b, tb=False):
        if tb and b.ndim != 2:
            raise ValueError(f"matmul: a second operand read transposed must be a matrix, "
                             f"got shape {tuple(b.shape)}")
        k = b.shape[-1] if tb else b.shape[-2]
        if a.shape[-1] != k:
            bs = (b.shape[1], b.shape[0]) if tb else tuple(b.shape)
            raise ValueError(f"matmul: shapes {tuple(a.shape)} and {bs} cannot be "
                             f"multiplied ({a.shape[-1]} != {k})")
        if tb:
            return tuple(a.shape[:-1]) + (b.shape[0],), a.dtype
        batch = broadcast_shapes("matmul", a.shape[:-2], b.shape[:-2])
        return batch + (a.shape[-2], b.shape[-1]), a.dtype

    @staticmethod
    def ref(a, b, tb=False):
        return np.matmul(a, b.T if tb else b)

    def backward(self, g):
        a, b = self.inputs
        if self.attrs.get("tb"):       # y = a b^T: ga = g b, gb = g^T a over the flat batch
            ga = Matmul.apply(g, b) if a.requires_grad else None
            gb = None
            if b.requires_grad:
                m, k = b.shape
                gb = Matmul.apply(g.reshape(-1, m).transpose(0, 1), a.reshape(-1, k))
            return ga, gb
        ga = unbroadcast(Matmul.apply(g, b.transpose(-1, -2)), a.shape) if a.requires_grad else None
        gb = None
        if b.requires_grad and a.ndim > 2 and all(d == 1 for d in b.shape[:-2]):
            # b shared by the whole batch (Linear's weight on a 3-D input): the batch dims
            # flatten into the rows, one (k, B*n) @ (B*n, m) product instead of a batched
            # product and a sum over the batch
            k, m = a.shape[-1], g.shape[-1]
            gb = Matmul.apply(a.reshape(-1, k).transpose(0, 1), g.reshape(-1, m)).reshape(b.shape)
        elif b.requires_grad:
            gb = unbroadcast(Matmul.apply(a.transpose(-1, -2), g), b.shape)
        return ga, gb


def _windows(h, k, d, s):
    return (h - d * (k - 1) - 1) // s + 1


class Unfold(Op):
    """im2col on an already padded (N, C, H, W) input -> (N, C*kh*kw, L), PyTorch's order."""
    name = "unfold"
    saves = ()
    __slots__ = ()

    @classmethod
    def infer(cls, x, kernel, dilation, stride):
        n, c, h, w = x.shape
        ho = _windows(h, kernel[0], dilation[0], stride[0])
        wo = _windows(w, kernel[1], dilation[1], stride[1])
        return (n, c * kernel[0] * kernel[1], ho * wo), x.dtype

    @staticmethod
    def ref(x, kernel, dilation, stride):
        n, c, h, w = x.shape
        (kh, kw), (dh, dw), (sh, sw) = kernel, dilation, stride
        ho, wo = _windows(h, kh, dh, sh), _windows(w, kw, dw, sw)
        x = np.ascontiguousarray(x)
        s = x.strides
        v = np.lib.stride_tricks.as_strided(
            x, (n, c, kh, kw, ho, wo), (s[0], s[1], s[2] * dh, s[3] * dw, s[2] * sh, s[3] * sw),
            writeable=False)
        return v.reshape(n, c * kh * kw, ho * wo)

    def backward(self, g):
        x = self.inputs[0]
        return (Fold.apply(g, size=tuple(x.shape[2:]), **self.attrs),)


class Fold(Op):
    """col2im, the adjoint of Unfold: (N, C*kh*kw, L) -> (N, C, H, W), overlaps summed."""
    name = "fold"
    saves = ()
    __slots__ = ()

    @classmethod
    def infer(cls, cols, size, kernel, dilation, stride):
        n, ckk, _ = cols.shape
        return (n, ckk // (kernel[0] * kernel[1])) + tuple(size), cols.dtype

    @staticmethod
    def ref(cols, size, kernel, dilation, stride):
        (kh, kw), (dh, dw), (sh, sw) = kernel, dilation, stride
        h, w = size
        ho, wo = _windows(h, kh, dh, sh), _windows(w, kw, dw, sw)
        n = cols.shape[0]
        c = cols.shape[1] // (kh * kw)
        cols = cols.reshape(n, c, kh, kw, ho, wo)
        out = np.zeros((n, c, h, w), dtype=cols.dtype)
        for i in range(kh):
            for j in range(kw):
                out[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                    j * dw:j * dw + sw * (wo - 1) + 1:sw] += cols[:, :, i, j]
        return out

    def backward(self, g):
        a = self.attrs
        return (Unfold.apply(g, kernel=a["kernel"], dilation=a["dilation"], stride=a["stride"]),)
