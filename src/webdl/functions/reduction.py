"""Reductions and what is built on them: sum, mean, amax/amin, argmax/argmin, max/min
(values and indices), var/std, logsumexp, softmax/log_softmax, all/any."""
import builtins
import collections
import math

import numpy as np

from .. import dtypes
from ..ops.reduce import (Sum, Amax, Amin, Argmax, Argmin, Softmax, norm_dim, norm_dims,
                          reduced_shape)
from ..ops.elementwise import broadcast_shapes
from ..ops.movement import Gather
from ..tensor import Tensor, constant
from .common import BOTH, check_tensor, count
from .elementwise import isfinite, maximum, minimum, where
from .shape import narrow, pad


def sum(x, dim=None, keepdim=False, dtype=None):  # noqa: A001
    check_tensor("sum", x)
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype is dtypes.bool_:
        x = x.long()
    return Sum.apply(x, axes=norm_dims("sum", dim, x.ndim), keepdim=bool(keepdim))


def mean(x, dim=None, keepdim=False, dtype=None):
    check_tensor("mean", x)
    if not x.dtype.is_floating_point:
        if dtype is None:
            raise TypeError(f"mean: input dtype should be float, got {x.dtype}")
        x = x.to(dtype)
    axes = norm_dims("mean", dim, x.ndim)
    s = Sum.apply(x, axes=axes, keepdim=bool(keepdim))
    n = count(x, axes)
    return s / n if n else s * math.nan


def amax(x, dim=None, keepdim=False):
    check_tensor("amax", x)
    return Amax.apply(x, axes=norm_dims("amax", dim if dim != () else None, x.ndim),
                      keepdim=bool(keepdim))


def amin(x, dim=None, keepdim=False):
    check_tensor("amin", x)
    return Amin.apply(x, axes=norm_dims("amin", dim if dim != () else None, x.ndim),
                      keepdim=bool(keepdim))


def argmax(x, dim=None, keepdim=False):
    check_tensor("argmax", x)
    if dim is None:
        return Argmax.apply(x.reshape(-1), axis=0, keepdim=False)
    return Argmax.apply(x, axis=norm_dim("argmax", dim, x.ndim), keepdim=bool(keepdim)) \
        if x.ndim else Argmax.apply(x.reshape(1), axis=0, keepdim=False)


def argmin(x, dim=None, keepdim=False):
    check_tensor("argmin", x)
    if dim is None:
        return Argmin.apply(x.reshape(-1), axis=0, keepdim=False)
    return Argmin.apply(x, axis=norm_dim("argmin", dim, x.ndim), keepdim=bool(keepdim)) \
        if x.ndim else Argmin.apply(x.reshape(1), axis=0, keepdim=False)


MinMax = collections.namedtuple("MinMax", ["values", "indices"])


def _minmax(name, x, dim, keepdim, other):
    if isinstance(dim, Tensor) or other is not None:
        return (maximum if name == "max" else minimum)(x, dim if other is None else other)
    if dim is None:
        return (amax if name == "max" else amin)(x)
    if x.ndim == 0:
        return MinMax(x, x.new_zeros((), dtype=dtypes.int64))
    d = norm_dim(name, dim, x.ndim)
    idx = (argmax if name == "max" else argmin)(x, d, keepdim=True)
    values = Gather.apply(x, idx, axis=d)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return MinMax(values, idx)


def max(x, dim=None, keepdim=False, other=None):  # noqa: A001
    return _minmax("max", x, dim, keepdim, other)


def min(x, dim=None, keepdim=False, other=None):  # noqa: A001
    return _minmax("min", x, dim, keepdim, other)


def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    check_tensor("var", x)
    if isinstance(dim, bool):  # var(x, False): PyTorch's positional `unbiased`
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    axes = norm_dims("var", dim, x.ndim)
    n = count(x, axes)
    mu = mean(x, axes, keepdim=True)
    d = x - mu
    s = Sum.apply(d * d, axes=axes, keepdim=bool(keepdim))
    return s / builtins.max(n - correction, 0)


def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return var(x, dim, unbiased, keepdim, correction).sqrt()


def _scan(op, x, dim, combine, fill):
    """An inclusive scan along dim in log2(n) steps (Hillis-Steele): each step combines
    every element with the one 2**k before it (``fill`` past the start), so the result is
    differentiable tensor ops and a few kernels on the GPU."""
    check_tensor(op, x)
    if x.ndim == 0:
        return x
    d = norm_dim(op, dim, x.ndim)
    n, k = x.shape[d], 1
    while k < n:
        shifted = pad(narrow(x, d, 0, n - k), (0, 0) * (x.ndim - 1 - d) + (k, 0), value=fill)
        x = combine(x, shifted)
        k *= 2
    return x


def cumsum(x, dim, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype is dtypes.bool_:
        x = x.long()
    return _scan("cumsum", x, dim, lambda a, b: a + b, 0)


def cumprod(x, dim, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype is dtypes.bool_:
        x = x.long()
    return _scan("cumprod", x, dim, lambda a, b: a * b, 1)


def _logaddexp(a, b):
    m = maximum(a, b).detach()
    m = where(isfinite(m), m, 0.0)
    return ((a - m).exp() + (b - m).exp()).log() + m


def logcumsumexp(x, dim):
    return _scan("logcumsumexp", x, dim, _logaddexp, -math.inf)


def logaddexp(a, b):
    return _logaddexp(a, b)


def logsumexp(x, dim, keepdim=False):
    check_tensor("logsumexp", x)
    axes = norm_dims("logsumexp", dim, x.ndim)
    m = Amax.apply(x.detach(), axes=axes, keepdim=True)
    m = where(isfinite(m), m, 0.0)
    out = Sum.apply((x - m).exp(), axes=axes, keepdim=True).log() + m
    return out if keepdim else out.reshape(reduced_shape(x.shape, axes, False))


def masked_softmax(x, mask=None, scale=1.0, causal=False, log=False, safe=False):
    """softmax (``log``: log_softmax) over the last dim of ``x * scale`` with an optional
    ``mask`` (bool: False drops a position; float: added) and ``causal`` masking, as one
    primitive (``ops.reduce.Softmax``: two passes on WebGL). ``safe``: a row with every
    position dropped gives zeros (scaled_dot_product_attention) instead of NaN."""
    check_tensor("softmax", x)
    if mask is not None and not isinstance(mask, Tensor):
        raise TypeError(f"softmax: the mask must be a Tensor, got {type(mask).__name__}")
    masks = () if mask is None else (mask,)
    if mask is not None:     # a mask with more or larger leading dims widens the result
        shape = broadcast_shapes("softmax", tuple(x.shape), tuple(mask.shape))
        if shape != tuple(x.shape):
            x = x.expand(shape)
    if not x.device.backend.has_kernel("softmax"):
        return _softmax_composite(x, mask, float(scale), bool(causal), bool(log), bool(safe))
    return Softmax.apply(x, *masks, scale=float(scale), causal=bool(causal), log=bool(log),
                         safe=bool(safe), mask_bool=mask is not None and mask.dtype is dtypes.bool_)


def _softmax_composite(x, mask, scale, causal, log, safe):
    """``masked_softmax`` written with other primitives (``Softmax.ref``'s steps), for a
    backend without the fused kernel: several passes instead of two."""
    s = x * scale
    if mask is not None:
        s = where(mask, s, -math.inf) if mask.dtype is dtypes.bool_ else s + mask
    if causal:
        keep = constant(np.tril(np.ones(tuple(x.shape[-2:]), dtype=bool)), dtypes.bool_,
                        x.device)       # from the shape alone: a compiled call keeps it
        s = where(keep, s, -math.inf)
    last = (s.ndim - 1,)
    if safe:     # a row with every position dropped gives zeros, and zero gradients: its
        # scores are replaced before the exp, so no 0/0 reaches the backward pass
        dropped = Sum.apply((s != -math.inf).float(), axes=last, keepdim=True) == 0
        s = where(dropped, 0.0, s)
    m = Amax.apply(s.detach(), axes=last, keepdim=True)
    m = where(m == -math.inf, 0.0, m)     # a row of +inf or NaN still gives NaN
    z = Sum.apply((s - m).exp(), axes=last, keepdim=True)
    out = (s - m) - z.log() if log else (s - m).exp() / z
    return where(dropped, 0.0, out) if safe else out


def _softmax_along(name, x, dim, dtype, log):
    check_tensor(name, x)
    if dtype is not None:
        x = x.to(dtype)
    if x.ndim == 0:
        return _softmax_along(name, x.reshape(1), 0, None, log).reshape(())
    d = norm_dim(name, dim, x.ndim)
    if d == x.ndim - 1:
        return masked_softmax(x, log=log)
    return masked_softmax(x.transpose(d, -1), log=log).transpose(d, -1)


def softmax(x, dim, dtype=None):
    return _softmax_along("softmax", x, dim, dtype, False)


def log_softmax(x, dim, dtype=None):
    return _softmax_along("log_softmax", x, dim, dtype, True)


def all(x, dim=None, keepdim=False):  # noqa: A001
    b = x if x.dtype is dtypes.bool_ else x != 0
    return sum(b.logical_not(), dim, keepdim) == 0


def any(x, dim=None, keepdim=False):  # noqa: A001
    b = x if x.dtype is dtypes.bool_ else x != 0
    return sum(b, dim, keepdim) > 0


API = {name: (fn, BOTH) for name, fn in {
    "sum": sum, "mean": mean, "amax": amax, "amin": amin, "argmax": argmax, "argmin": argmin,
    "max": max, "min": min, "var": var, "std": std, "logsumexp": logsumexp,
    "softmax": softmax, "log_softmax": log_softmax, "all": all, "any": any,
    "cumsum": cumsum, "cumprod": cumprod, "logcumsumexp": logcumsumexp,
    "logaddexp": logaddexp}.items()}
