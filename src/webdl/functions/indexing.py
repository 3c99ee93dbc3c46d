"""Indexing: ``x[...]`` and ``x[...] = v`` (ints, slices, None, ..., one integer or
boolean tensor index), gather/scatter_add, index_select and masked_fill."""
import numpy as np

from .. import dtypes
from ..autograd import is_grad_enabled
from ..ops.movement import Gather, ScatterAdd, Unslice
from ..ops.reduce import norm_dim
from ..tensor import Tensor, as_tensor_like, full, tensor
from .common import BOTH, METHOD
from .elementwise import where
from .shape import expand, reshape, strided_slice


def gather(x, dim, index):
    d = norm_dim("gather", dim, x.ndim)
    if index.dtype is not dtypes.int64:
        raise TypeError(f"gather: index must be int64, got {index.dtype}")
    if index.ndim != x.ndim:
        raise ValueError(f"gather: index has {index.ndim} dims but input has {x.ndim}")
    _check_index_range("gather", index, x.shape[d])
    return Gather.apply(x, index, axis=d)


def scatter_add(x, dim, index, src):
    d = norm_dim("scatter_add", dim, x.ndim)
    _check_index_range("scatter_add", index, x.shape[d])
    return x + ScatterAdd.apply(src, index, axis=d, shape=tuple(x.shape))


def _check_index_range(op, index, size):
    if index.numel():
        v = index._value()
        lo, hi = int(v.min()), int(v.max())
        if lo < 0 or hi >= size:
            bad = lo if lo < 0 else hi
            raise IndexError(f"{op}: index {bad} is out of bounds for size {size}")


def index_select(x, dim, index):
    d = norm_dim("index_select", dim, x.ndim)
    if index.ndim > 1:
        raise ValueError("index_select: index must be 0-d or 1-d")
    index = reshape(index, (-1,))
    idx = (index + (index < 0).long() * x.shape[d]) if index.numel() else index
    _check_index_range("index_select", idx, x.shape[d])
    shape = list(x.shape)
    shape[d] = idx.shape[0]
    view_shape = [1] * x.ndim
    view_shape[d] = idx.shape[0]
    return Gather.apply(x, expand(reshape(idx, tuple(view_shape)), tuple(shape)), axis=d)


def masked_fill(x, mask, value):
    return where(mask, as_tensor_like(value, x), x)


def _parse_basic(x, idx):
    """Ints, slices, None and ... -> ({axis: (start, step, size)}, result shape)."""
    n_consume = sum(1 for it in idx if it is not None and it is not Ellipsis)
    if sum(1 for it in idx if it is Ellipsis) > 1:
        raise IndexError("index: an index can only have a single ellipsis ('...')")
    if n_consume > x.ndim:
        raise IndexError(f"index: too many indices for a tensor of {x.ndim} dims "
                         f"(shape {tuple(x.shape)})")
    full_idx = []
    for it in idx:
        if it is Ellipsis:
            full_idx += [slice(None)] * (x.ndim - n_consume)
        else:
            full_idx.append(it)
    if Ellipsis not in idx:
        full_idx += [slice(None)] * (x.ndim - n_consume)
    spec, out_shape, d = {}, [], 0
    for it in full_idx:
        if it is None:
            out_shape.append(1)
            continue
        size = x.shape[d]
        if isinstance(it, (bool, np.bool_)):
            raise IndexError("index: bool scalars are not supported as indices")
        if isinstance(it, (int, np.integer)):
            if not -size <= it < size:
                raise IndexError(f"index {it} is out of bounds for dim {d} with size {size}")
            spec[d] = (int(it) % size, 1, 1)
        elif isinstance(it, slice):
            if it.step is not None and it.step <= 0:
                raise ValueError(f"index: slice step must be positive, got {it.step}")
            start, stop, step = it.indices(size)
            n = len(range(start, stop, step))
            spec[d] = (start if n else 0, step, n)
            out_shape.append(n)
        else:
            raise TypeError(f"index: unsupported index {it!r} of type {type(it).__name__}")
        d += 1
    return spec, tuple(out_shape)


def _as_index(x, idx):
    if not isinstance(idx, tuple):
        idx = (idx,)
    return idx, [i for i, it in enumerate(idx) if isinstance(it, (Tensor, list, np.ndarray))]


def getitem(x, idx):
    idx, adv = _as_index(x, idx)
    if adv:
        return _advanced_index(x, idx, adv)
    spec, out_shape = _parse_basic(x, idx)
    return reshape(strided_slice(x, spec), out_shape)


def _advanced_index(x, idx, adv):
    """One integer or boolean tensor (or list) among the indices: an index_select. A
    boolean mask is read back to the host to find its True positions (the result's size
    depends on its values), so it costs a GPU round trip on WebGL."""
    if len(adv) > 1:
        raise NotImplementedError("index: only one tensor/list index per indexing expression is "
                                  "supported")
    pos = adv[0]
    if any(it is Ellipsis or it is None for it in idx):
        raise NotImplementedError("index: a tensor index can't be combined with None or ...")
    ind = idx[pos]
    if not isinstance(ind, Tensor):
        ind = tensor(np.asarray(ind), device=x.device)
    if ind.dtype is dtypes.bool_:
        m = ind._value()
        if m.shape != tuple(x.shape[pos:pos + m.ndim]):
            raise IndexError(f"index: mask of shape {m.shape} doesn't match the indexed dims "
                             f"{tuple(x.shape[pos:pos + m.ndim])}")
        flat = reshape(x, tuple(x.shape[:pos]) + (-1,) + tuple(x.shape[pos + m.ndim:]))
        ind = tensor(np.flatnonzero(m), device=x.device)
        x, idx = flat, idx[:pos] + (ind,) + idx[pos + 1:]
    if ind.dtype.is_floating_point:
        raise IndexError("index: tensors used as indices must be int64 or bool")
    out = index_select(x, pos, ind)
    out = reshape(out, tuple(out.shape[:pos]) + tuple(ind.shape) + tuple(out.shape[pos + 1:]))
    rest = idx[:pos] + (slice(None),) * ind.ndim + idx[pos + 1:]
    return getitem(out, rest)


def setitem(x, idx, value):
    """``x[idx] = value`` for ints, slices, None and ...: builds the new value out of place
    and swaps it into ``x`` (not recorded by autograd)."""
    if x.requires_grad and is_grad_enabled():
        raise RuntimeError("setitem: in-place assignment into a tensor that requires grad is "
                           "not supported outside webdl.no_grad()")
    idx, adv = _as_index(x, idx)
    if adv:
        raise NotImplementedError("setitem: only ints, slices, None and ... are supported")
    spec, out_shape = _parse_basic(x, idx)
    starts, steps, shape = [0] * x.ndim, [1] * x.ndim, list(x.shape)
    for d, (s, st, n) in spec.items():
        starts[d], steps[d], shape[d] = s, st, n
    v = expand(as_tensor_like(value, x).to(x.dtype), out_shape).reshape(tuple(shape))
    kw = dict(starts=tuple(starts), steps=tuple(steps), shape=tuple(x.shape))
    placed = Unslice.apply(v, value=0, **kw)
    marked = Unslice.apply(full(tuple(shape), True, device=x.device), value=False, **kw)
    x._assign(where(marked, placed, x))


API = {
    "gather": (gather, BOTH), "scatter_add": (scatter_add, BOTH),
    "index_select": (index_select, BOTH), "masked_fill": (masked_fill, BOTH),
    "__getitem__": (getitem, METHOD), "__setitem__": (setitem, METHOD),
}
