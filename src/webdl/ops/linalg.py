"""Matmul (batched, broadcasting batch dims) and the im2col pair unfold/fold."""
import math

import numpy as np

from .base import Op
from .elementwise import broadcast_shapes, unbroadcast


def read_shape(shape, transposed=False, flat=False):
    """The matrix (or batch of matrices) a matmul operand of ``shape`` is read as: with
    ``flat`` its leading dims as rows, with ``transposed`` its last two dims swapped."""
    s = tuple(shape)
    if flat:
        s = (math.prod(s[:-1]), s[-1])
    return s[:-2] + (s[-1], s[-2]) if transposed else s


class Matmul(Op):
    """(..., n, k) @ (..., k, m) -> (..., n, m); both inputs at least 2-D. With ``ta`` (``tb``)
    the first (second) operand is given with its last two dims swapped and read transposed
    in place: ``F.linear``'s weight, and the operands of the gradients below, need no
    transpose op of their own. With ``flat`` each operand's leading dims are its rows (a
    (B, n, k) operand is read as (B*n, k)): no reshape op either."""
    name = "matmul"
    saves = (0, 1)
    __slots__ = ()

    @classmethod
    def infer(cls, a, b, ta=False, tb=False, flat=False):
        sa, sb = read_shape(a.shape, ta, flat), read_shape(b.shape, tb, flat)
        if sa[-1] != sb[-2]:
            raise ValueError(f"matmul: shapes {sa} and {sb} cannot be multiplied "
                             f"({sa[-1]} != {sb[-2]})")
        if len(sb) == 2:
            return sa[:-1] + (sb[-1],), a.dtype
        batch = broadcast_shapes("matmul", sa[:-2], sb[:-2])
        return batch + (sa[-2], sb[-1]), a.dtype

    @staticmethod
    def ref(a, b, ta=False, tb=False, flat=False):
        if flat:
            a, b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
        return np.matmul(np.swapaxes(a, -1, -2) if ta else a,
                         np.swapaxes(b, -1, -2) if tb else b)

    def backward(self, g):
        a, b = self.inputs
        ta, tb = self.attrs.get("ta", False), self.attrs.get("tb", False)
        if not self.attrs.get("flat"):
            return _matmul_grads(a, b, g, ta, tb)
        ga, gb = _matmul_grads(a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1]), g, ta, tb,
                               a.requires_grad, b.requires_grad)
        return (ga.reshape(a.shape) if ga is not None else None,
                gb.reshape(b.shape) if gb is not None else None)


def _matmul_grads(a, b, g, ta, tb, need_a=None, need_b=None):
    """The gradients of y = A B (A = a, or a^T with ta; B likewise) given g: dA = g B^T and
    dB = A^T g, each one product reading its operands transposed where needed -- a^T's
    gradient is (g B^T)^T = B g^T, b^T's is g^T A -- and summed over broadcast batch dims."""
    need_a = a.requires_grad if need_a is None else need_a
    need_b = b.requires_grad if need_b is None else need_b
    ga = gb = None
    if need_a:
        ga = Matmul.apply(b, g, ta=tb, tb=True) if ta else Matmul.apply(g, b, tb=not tb)
        ga = unbroadcast(ga, a.shape)
    if need_b and g.ndim > 2 and not ta and all(d == 1 for d in b.shape[:-2]):
        # b shared by the whole batch (Linear's weight on a 3-D input): the batch dims
        # flatten into the rows (flat), one (k, B*n) @ (B*n, m) product instead of a
        # batched product and a sum over the batch
        gb = Matmul.apply(g, a, ta=True, flat=True) if tb else \
            Matmul.apply(a, g, ta=True, flat=True)
        if b.ndim != 2:
            gb = gb.reshape(b.shape)
    elif need_b:
        gb = Matmul.apply(g, a, ta=True, tb=ta) if tb else Matmul.apply(a, g, ta=not ta)
        gb = unbroadcast(gb, b.shape)
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
