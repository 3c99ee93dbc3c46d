"""Argument helpers shared by the functional families."""
import numbers

import numpy as np

from ...functions.linalg import matmul
from ...tensor import tensor


def _ntuple(v, n, name, op):
    if isinstance(v, numbers.Integral):
        return (int(v),) * n
    v = tuple(int(a) for a in v)
    if len(v) != n:
        raise ValueError(f"{op}: {name} must be an int or a tuple of {n}, got {v}")
    return v


def _pair(v, name, op):
    if isinstance(v, numbers.Integral):
        return (int(v), int(v))
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise ValueError(f"{op}: {name} must be an int or a pair, got {v}")
    return v


def _single(v, name, op):
    return _ntuple(v, 1, name, op)


def _need4d(op, x):
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                         f"{tuple(x.shape)}")
    return (x.unsqueeze(0), True) if x.ndim == 3 else (x, False)


def _need3d(op, x):
    if x.ndim not in (2, 3):
        raise ValueError(f"{op}: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape "
                         f"{tuple(x.shape)}")
    return (x.unsqueeze(0), True) if x.ndim == 2 else (x, False)


def _out(y, unbatched):
    return y.squeeze(0) if unbatched else y


def _along(x, axis, m):
    """Apply the constant (out, in) matrix m (numpy) along ``axis`` of x: one matmul, whose
    backward is the transposed matrix."""
    if m.shape[0] == m.shape[1] and np.array_equal(m, np.eye(m.shape[0], dtype=m.dtype)):
        return x
    mt = tensor(m, device=x.device)
    if axis == x.ndim - 1:
        return matmul(x, mt.t())
    if axis == x.ndim - 2:
        return matmul(mt, x)
    shape = tuple(x.shape)
    post = 1
    for s in shape[axis + 1:]:
        post *= s
    y = matmul(mt, x.reshape(*shape[:axis + 1], post))
    return y.reshape(*shape[:axis], m.shape[0], *shape[axis + 1:])
