"""Sorting and selection: sort, argsort, topk, kthvalue, median, unique, bincount,
multinomial.

The order (which element goes where) is worked out on the host from the values read
back: these ops' results depend on the data in ways a fixed-shape GPU kernel can't express
cheaply (unique, bincount and multinomial even have data-dependent sizes). The values
returned by sort/topk/kthvalue/median are then gathered on the device from the input, so
they stay differentiable (their gradient goes back to the chosen elements, as in PyTorch).
``multinomial`` draws from webdl's random state (``webdl.manual_seed``)."""
import collections

import numpy as np

from .. import dtypes
from .. import random as _random
from ..ops.movement import Gather
from ..ops.reduce import norm_dim
from ..tensor import tensor
from .common import BOTH, check_tensor
from .shape import reshape

ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])


def _order(x, d, descending):
    """Host argsort along d, stable; NaN counts as the largest value (PyTorch's order)."""
    v = x._value()
    if v.dtype == np.bool_:
        v = v.astype(np.int64)
    if not descending:
        return np.argsort(v, axis=d, kind="stable")
    nan = np.isnan(v) if v.dtype.kind == "f" else np.zeros(v.shape, bool)
    return np.lexsort((-v, ~nan), axis=d)   # NaN first, then the largest


def _take(x, d, idx):
    i = tensor(np.ascontiguousarray(idx), device=x.device)
    return ValuesIndices(Gather.apply(x, i, axis=d), i)


def sort(x, dim=-1, descending=False, stable=False):
    check_tensor("sort", x)
    if x.ndim == 0:
        return ValuesIndices(x, tensor(0, device=x.device))
    d = norm_dim("sort", dim, x.ndim)
    return _take(x, d, _order(x, d, descending))


def argsort(x, dim=-1, descending=False, stable=False):
    return sort(x, dim, descending, stable).indices


def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    check_tensor("topk", x)
    d = norm_dim("topk", dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {d} of size {n}")
    idx = _order(x, d, largest)
    return _take(x, d, np.take(idx, np.arange(k), axis=d))


def kthvalue(x, k, dim=-1, keepdim=False):
    check_tensor("kthvalue", x)
    d = norm_dim("kthvalue", dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue: k ({k}) is out of range for dimension {d} of size {n}")
    idx = np.take(_order(x, d, False), [k - 1], axis=d)
    out = _take(x, d, idx)
    if keepdim:
        return out
    return ValuesIndices(out.values.squeeze(d), out.indices.squeeze(d))


def median(x, dim=None, keepdim=False):
    """The lower median (PyTorch's): without dim, one value over all elements."""
    check_tensor("median", x)
    if dim is None:
        flat = reshape(x, (-1,))
        return kthvalue(flat, (flat.shape[0] + 1) // 2, 0).values
    d = norm_dim("median", dim, x.ndim)
    return kthvalue(x, (x.shape[d] + 1) // 2, d, keepdim)


def unique(x, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    if dim is not None:
        raise NotImplementedError("unique: dim is not supported (unique over all elements)")
    vals, inverse, counts = np.unique(x._value(), return_inverse=True, return_counts=True)
    out = [tensor(vals, dtype=x.dtype, device=x.device)]
    if return_inverse:
        out.append(tensor(inverse.reshape(tuple(x.shape)), device=x.device))
    if return_counts:
        out.append(tensor(counts, device=x.device))
    return out[0] if len(out) == 1 else tuple(out)


def bincount(x, weights=None, minlength=0):
    if x.ndim != 1 or x.dtype.is_floating_point:
        raise RuntimeError("bincount: only 1-d non-negative integral inputs are supported")
    v = x._value()
    if v.size and v.min() < 0:
        raise RuntimeError("bincount: only 1-d non-negative integral inputs are supported")
    w = None if weights is None else weights._value()
    out = np.bincount(v.astype(np.intp), weights=w, minlength=minlength)  # intp: wasm32
    dt = dtypes.int64 if weights is None else dtypes.float32
    return tensor(out, dtype=dt, device=x.device)


def multinomial(x, num_samples, replacement=False, generator=None):
    """Indices drawn from each row of ``x`` (non-negative weights, not necessarily summing
    to one), with or without replacement."""
    check_tensor("multinomial", x)
    if x.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got {x.ndim}")
    p = np.asarray(x._value(), dtype=np.float64).reshape(-1, x.shape[-1])
    if not np.all(np.isfinite(p)) or (p < 0).any():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or "
                           "element < 0")
    rng = _random.generator(generator)
    rows = []
    for row in p:
        total = row.sum()
        if total <= 0:
            raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                               "probabilities <= 0)")
        if not replacement and num_samples > np.count_nonzero(row):
            raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) "
                               "samples without replacement")
        rows.append(rng.choice(row.size, size=num_samples, replace=replacement, p=row / total))
    out = np.stack(rows).astype(np.int64)
    return tensor(out.reshape(num_samples) if x.ndim == 1 else out, device=x.device)


API = {name: (fn, BOTH) for name, fn in {
    "sort": sort, "argsort": argsort, "topk": topk, "kthvalue": kthvalue, "median": median,
    "unique": unique, "bincount": bincount, "multinomial": multinomial}.items()}
