"""Indexing: ``x[...]`` and ``x[...] = v`` with PyTorch's (NumPy's) rules -- ints, slices,
None, ..., and any number of integer or boolean tensor indices --, gather/scatter,
index_select/index_add/index_fill/index_copy/index_put, take_along_dim, masked_fill.

Basic indices (ints, slices, None, ...) give views of the tensor (they share its storage).
Tensor indices give copies: the flat positions they select are worked out on the host
(index values are read back; small index tensors made on the host keep a host copy, so
that costs no GPU round trip) and one gather reads them. A write through tensor indices
(``x[idx] = v``, ``index_put_``) gathers the new values into place and writes ``x`` in
place; where two indices name one element, the last one wins (as PyTorch on the CPU).
"""
import numpy as np

from .. import dtypes
from ..ops.movement import Gather, ScatterAdd
from ..ops.reduce import norm_dim
from ..storage import contiguous_strides
from ..tensor import Tensor, as_tensor_like, tensor, wait_index
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


def _scatter_positions(op, x, d, index):
    """Flat positions in ``x`` of ``x[..., index[i, j, ...], ...]`` (index along dim d)."""
    if index.dtype is not dtypes.int64:
        raise TypeError(f"{op}: index must be int64, got {index.dtype}")
    if index.ndim != x.ndim:
        raise ValueError(f"{op}: index has {index.ndim} dims but self has {x.ndim}")
    iv = index._value()
    if iv.size and (iv.min() < 0 or iv.max() >= x.shape[d]):
        bad = iv.min() if iv.min() < 0 else iv.max()
        raise IndexError(f"{op}: index {bad} is out of bounds for dimension {d} with size "
                         f"{x.shape[d]}")
    coords = list(np.indices(iv.shape, sparse=True))
    coords[d] = iv
    return sum(c * s for c, s in zip(coords, contiguous_strides(x.shape)))


def scatter(x, dim, index, src=None, value=None, reduce=None):
    """torch.scatter: ``out[..., index[i], ...] = src[i]`` along ``dim`` (a copy of x)."""
    d = norm_dim("scatter", dim, x.ndim)
    if reduce is not None:
        if reduce != "add":
            raise NotImplementedError(f"scatter: reduce={reduce!r} is not supported (only "
                                      "'add'; use scatter_add)")
        return scatter_add(x, d, index, _scatter_src(x, index, src, value))
    pos = _scatter_positions("scatter", x, d, index)
    return _put(x, pos, _scatter_src(x, index, src, value))


def _scatter_src(x, index, src, value):
    if (src is None) == (value is None):
        raise TypeError("scatter: give exactly one of src (a tensor) and value (a number)")
    if src is None or not isinstance(src, Tensor):
        v = value if src is None else src
        return as_tensor_like(v, x).to(x.dtype).expand(index.shape)
    if any(i > s for i, s in zip(index.shape, src.shape)):
        raise RuntimeError(f"scatter: index {tuple(index.shape)} is larger than src "
                           f"{tuple(src.shape)}")
    return strided_slice(src, {k: (0, 1, n) for k, n in enumerate(index.shape)})


def index_add(x, dim, index, source, alpha=1):
    d = norm_dim("index_add", dim, x.ndim)
    idx = _along(x, d, index, source.shape, "index_add")
    return x + ScatterAdd.apply(source if alpha == 1 else source * alpha, idx, axis=d,
                                shape=tuple(x.shape))


def index_copy(x, dim, index, source):
    d = norm_dim("index_copy", dim, x.ndim)
    idx = _along(x, d, index, source.shape, "index_copy")
    return _put(x, _scatter_positions("index_copy", x, d, idx), source)


def index_fill(x, dim, index, value):
    d = norm_dim("index_fill", dim, x.ndim)
    idx = reshape(index, (-1,))._value()
    hit = np.zeros(x.shape[d], dtype=bool)
    hit[idx] = True
    shape = [1] * x.ndim
    shape[d] = x.shape[d]
    return where(tensor(hit.reshape(shape), device=x.device), as_tensor_like(value, x), x)


def _along(x, d, index, shape, op):
    """A 1-D index along dim d expanded to ``shape`` (the source's), for ScatterAdd."""
    if index.ndim > 1 or index.dtype is not dtypes.int64:
        raise ValueError(f"{op}: index must be a 0-d or 1-d int64 tensor")
    index = reshape(index, (-1,))
    if len(shape) != x.ndim or shape[d] != index.shape[0]:
        raise ValueError(f"{op}: source of shape {tuple(shape)} doesn't match index of "
                         f"{index.shape[0]} along dim {d} of self {tuple(x.shape)}")
    _check_index_range(op, index, x.shape[d])
    view = [1] * x.ndim
    view[d] = index.shape[0]
    return expand(reshape(index, tuple(view)), tuple(shape))


def take_along_dim(x, indices, dim=None):
    if dim is None:
        return gather(reshape(x, (-1,)), 0, reshape(indices, (-1,)))
    d = norm_dim("take_along_dim", dim, x.ndim)
    shape = list(np.broadcast_shapes(tuple(x.shape[:d] + (1,) + x.shape[d + 1:]),
                                     tuple(indices.shape[:d] + (1,) + indices.shape[d + 1:])))
    xs, js = list(shape), list(shape)
    xs[d], js[d] = x.shape[d], indices.shape[d]
    return gather(expand(x, tuple(xs)), d, expand(indices, tuple(js)))


def _check_index_range(op, index, size, negative=False):
    """Raise IndexError naming the first bad index; ``negative``: -size..-1 count from the
    end. Returns the smallest index (None for an empty one). Uploaded indices are checked on
    their host copy, without a GPU round trip; indices computed on a GPU are checked at the
    next readback (``webdl.tensor.wait_index``: until then a bad one reads some element), and the
    smallest is then given as -1 where negatives are allowed (the caller wraps them)."""
    if not index.numel():
        return None
    if index.device.type != "cpu" and getattr(index._buf, "host", None) is None:
        wait_index(index, (op, size, negative))
        return -1 if negative else 0
    v = index._value()
    lo, hi = int(v.min()), int(v.max())
    if lo < (-size if negative else 0) or hi >= size:
        bad = lo if lo < (-size if negative else 0) else hi
        raise IndexError(f"{op}: index {bad} is out of bounds for size {size}")
    return lo


def index_select(x, dim, index):
    """PyTorch's index_select: every index in 0..size-1 (a negative one is out of range, as
    in PyTorch; ``x[t]`` counts negative ones from the end: ``_rows``)."""
    d = norm_dim("index_select", dim, x.ndim)
    if index.ndim > 1:
        raise ValueError("index_select: index must be 0-d or 1-d")
    return _rows(x, d, reshape(index, (-1,)), "index_select", False)


def _rows(x, d, index, op, negative):
    """The slices of ``x`` along dim ``d`` at the 1-D ``index``; ``negative``: -size..-1
    count from the end (wrapped by one more elementwise op where an index may be negative:
    one made on the GPU, whose range is checked later, or an uploaded one below 0)."""
    # checked before negative indices are wrapped: the index as given (an uploaded one has a
    # host copy), and the wrap only where there are negative ones
    lo = _check_index_range(op, index, x.shape[d], negative=negative)
    idx = index + (index < 0).long() * x.shape[d] if lo is not None and lo < 0 else index
    shape = list(x.shape)
    shape[d] = idx.shape[0]
    view_shape = [1] * x.ndim
    view_shape[d] = idx.shape[0]
    return Gather.apply(x, expand(reshape(idx, tuple(view_shape)), tuple(shape)), axis=d)


def masked_fill(x, mask, value):
    return where(mask, as_tensor_like(value, x), x)


def _parse_basic(x, idx):
    """Ints, slices, None and ... -> ({axis: (start, step, size)}, result shape)."""
    n_consume = n_ellipsis = 0
    for it in idx:
        if it is Ellipsis:
            n_ellipsis += 1
        elif it is not None:
            n_consume += 1
    if n_ellipsis > 1:
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
    if not n_ellipsis:
        full_idx += [slice(None)] * (x.ndim - n_consume)
    spec, out_shape, d = {}, [], 0
    for it in full_idx:
        if it is None:
            out_shape.append(1)
            continue
        size = x.shape[d]
        if type(it) is slice:       # (slice can't be subclassed) the common case first
            if it.step is not None and it.step <= 0:
                raise ValueError(f"index: slice step must be positive, got {it.step}")
            start, stop, step = it.indices(size)
            n = len(range(start, stop, step))
            if n != size:           # the whole dim: nothing to slice
                spec[d] = (start if n else 0, step, n)
            out_shape.append(n)
        elif isinstance(it, (bool, np.bool_)):
            raise IndexError("index: bool scalars are not supported as indices")
        elif isinstance(it, (int, np.integer)):
            if not -size <= it < size:
                raise IndexError(f"index {it} is out of bounds for dim {d} with size {size}")
            spec[d] = (int(it) % size, 1, 1)
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
    if len(idx) == 1 and adv and isinstance(idx[0], Tensor) and x.ndim and \
            x.device.type != "cpu" and idx[0].device == x.device and \
            idx[0].dtype is dtypes.int64:
        # x[t], one integer tensor: rows gathered on the GPU (no host positions, so a
        # recorded call replays it for other indices); negative ones count from the end
        return reshape(_rows(x, 0, reshape(idx[0], (-1,)), "index", True),
                       tuple(idx[0].shape) + tuple(x.shape[1:]))
    if adv:
        pos = _positions(x, idx)
        return reshape(Gather.apply(reshape(x, (-1,)), tensor(pos.reshape(-1), device=x.device),
                                    axis=0), pos.shape)
    return _basic_view(x, idx)


def _basic_view(x, idx):
    """``x[idx]`` for ints, slices, None and ...: a view (x itself where it takes all)."""
    spec, out_shape = _parse_basic(x, idx)
    y = strided_slice(x, spec)
    return y if y.shape == out_shape else reshape(y, out_shape)


def _positions(x, idx):
    """The flat positions in ``x`` (row-major) of the elements ``x[idx]`` selects, in the
    result's shape: NumPy's indexing (which is PyTorch's) applied to per-dim coordinate
    grids that are broadcast views, so nothing of x's size is made."""
    np_idx = []
    for it in idx:
        if isinstance(it, Tensor):
            if it.dtype.is_floating_point:
                raise IndexError("index: tensors used as indices must be long, int or bool, "
                                 f"got {it.dtype}")
            it = it._value()
        elif isinstance(it, (list, np.ndarray)):
            it = np.asarray(it)
            if it.dtype.kind not in "iub":
                raise IndexError(f"index: lists used as indices must hold ints or bools, got "
                                 f"{it.dtype}")
        elif isinstance(it, slice) and it.step is not None and it.step <= 0:
            raise ValueError(f"index: slice step must be positive, got {it.step}")
        np_idx.append(it)
    np_idx = tuple(np_idx)
    shape, nd = tuple(x.shape), x.ndim
    strides = contiguous_strides(shape)
    try:
        pos = 0
        for d, n in enumerate(shape):
            grid = np.arange(n, dtype=np.int64).reshape((1,) * d + (n,) + (1,) * (nd - d - 1))
            pos = pos + np.broadcast_to(grid, shape)[np_idx] * strides[d]
        if not nd:
            pos = np.zeros((), np.int64)[np_idx]
    except IndexError as e:
        raise IndexError(f"index: {e} (tensor of shape {shape})") from None
    return np.asarray(pos, dtype=np.int64)


def _put(x, pos, values, accumulate=False):
    """``x`` with ``values`` (broadcast to ``pos``'s shape) written at flat positions
    ``pos``: one gather of the values into place (the last of repeated positions wins),
    or with ``accumulate`` a scatter-add."""
    n = x.numel()
    values = as_tensor_like(values, x)
    if values.dtype is not x.dtype:
        values = values.to(x.dtype)
    flat_v = reshape(expand(values, pos.shape) if tuple(values.shape) != pos.shape else values,
                     (-1,))
    flat_x = reshape(x, (-1,))
    if accumulate:
        new = flat_x + ScatterAdd.apply(flat_v, tensor(pos.reshape(-1), device=x.device),
                                        axis=0, shape=(n,))
    else:
        src = np.full(n, -1, dtype=np.int64)
        src[pos.reshape(-1)] = np.arange(pos.size)
        hit = tensor(src >= 0, device=x.device)
        taken = Gather.apply(flat_v, tensor(np.maximum(src, 0), device=x.device), axis=0) \
            if pos.size else flat_x
        new = where(hit, taken, flat_x)
    return reshape(new, tuple(x.shape))


def setitem(x, idx, value):
    """``x[idx] = value``: basic indices write through the view ``x[idx]``; a boolean mask
    with one value is a ``where``; other tensor indices go through ``index_put_``."""
    x._check_inplace("setitem")
    idx, adv = _as_index(x, idx)
    if not adv:
        view = _basic_view(x, idx)
        view.copy_(value) if view is not x else x.copy_(value)
        return
    if len(idx) == 1 and isinstance(idx[0], Tensor) and idx[0].dtype is dtypes.bool_ and \
            tuple(idx[0].shape) == tuple(x.shape[:idx[0].ndim]) and \
            (not isinstance(value, Tensor) or value.numel() == 1):
        mask = idx[0]
        mask = reshape(mask, tuple(mask.shape) + (1,) * (x.ndim - mask.ndim))
        value = as_tensor_like(value, x)
        x.copy_(where(mask, reshape(value, ()) if value.ndim else value, x))
        return
    index_put_(x, idx, value)


def index_put(x, indices, values, accumulate=False):
    """torch.index_put: ``x[indices] = values`` (or ``+=`` with ``accumulate``) as a copy."""
    if not isinstance(indices, tuple):
        indices = tuple(indices)
    return _put(x, _positions(x, indices), values, accumulate)


def index_put_(x, indices, values, accumulate=False):
    if not isinstance(indices, tuple):
        indices = tuple(indices)
    return x._inplace_from(lambda cur: index_put(cur, indices, values, accumulate),
                           "index_put_")


API = {
    "gather": (gather, BOTH), "scatter_add": (scatter_add, BOTH), "scatter": (scatter, BOTH),
    "index_select": (index_select, BOTH), "masked_fill": (masked_fill, BOTH),
    "index_add": (index_add, BOTH), "index_copy": (index_copy, BOTH),
    "index_fill": (index_fill, BOTH), "index_put": (index_put, BOTH),
    "index_put_": (index_put_, METHOD), "take_along_dim": (take_along_dim, BOTH),
    "__getitem__": (getitem, METHOD), "__setitem__": (setitem, METHOD),
}
