"""The ``webdl.*`` functions and ``Tensor`` methods, written on the primitives in ``ops``.

Argument checking happens here, before any work, so errors name the op as the user called
it with the shapes involved.
"""
import builtins
import collections
import math
import numbers
import sys

import numpy as np

from . import dtypes
from .ops.elementwise import UNARY, BINARY, where, broadcast_shapes  # noqa: F401
from .ops.reduce import Sum, Amax, Amin, Argmax, Argmin, norm_dim, norm_dims, reduced_shape
from .ops.movement import (Reshape, Permute, Expand, Slice, Unslice, Flip, Cat, Gather,
                           ScatterAdd)
from .ops.linalg import Matmul
from .autograd import _tensor_class


_T = _tensor_class    # webdl.tensor imports this module: Tensor is looked up on first use


def _t(v, ref):
    return sys.modules["webdl.tensor"].as_tensor_like(v, ref)


def _check_tensor(op, x):
    if not isinstance(x, _T()):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


# --- elementwise ------------------------------------------------------------------------
def _unary(name):
    cls = UNARY[name]

    def f(x, **attrs):
        _check_tensor(name, x)
        return cls.apply(x, **attrs)
    f.__name__ = name
    return f


neg, abs, sign, exp, log, sqrt, rsqrt, sin, cos, tanh, sigmoid, relu, erf, floor = (  # noqa: A001
    _unary(n) for n in ("neg", "abs", "sign", "exp", "log", "sqrt", "rsqrt", "sin", "cos",
                        "tanh", "sigmoid", "relu", "erf", "floor"))
negative, absolute = neg, abs


def isnan(x):
    return UNARY["isnan"].apply(x)


def isfinite(x):
    return (x - x) == 0


def isinf(x):
    return x.abs() == math.inf


def logical_not(x):
    return UNARY["logical_not"].apply(x)


def _binary(name, a, b):
    T = _T()
    if not isinstance(a, T):
        if not isinstance(b, T):
            raise TypeError(f"{name}: expected at least one Tensor, got {type(a).__name__} and "
                            f"{type(b).__name__}")
        a = _t(a, b)
    else:
        b = _t(b, a)
    return BINARY[name].apply(a, b)


def add(a, b, alpha=1):
    return _binary("add", a, b if alpha == 1 else b * alpha)


def sub(a, b, alpha=1):
    return _binary("sub", a, b if alpha == 1 else b * alpha)


def mul(a, b):
    return _binary("mul", a, b)


def div(a, b, rounding_mode=None):
    out = _binary("div", a, b)
    if rounding_mode == "floor":
        return out.floor()
    if rounding_mode == "trunc":
        return out.sign() * out.abs().floor()
    return out


def true_divide(a, b):
    return div(a, b)


def maximum(a, b):
    return _binary("maximum", a, b)


def minimum(a, b):
    return _binary("minimum", a, b)


def eq(a, b):
    return _binary("eq", a, b)


def ne(a, b):
    return _binary("ne", a, b)


def lt(a, b):
    return _binary("lt", a, b)


def le(a, b):
    return _binary("le", a, b)


def gt(a, b):
    return _binary("gt", a, b)


def ge(a, b):
    return _binary("ge", a, b)


def logical_and(a, b):
    return _binary("logical_and", a, b)


def logical_or(a, b):
    return _binary("logical_or", a, b)


def logical_xor(a, b):
    return _binary("logical_xor", a, b)


def pow(a, b):  # noqa: A001
    T = _T()
    if isinstance(a, T) and isinstance(b, numbers.Real) and not isinstance(b, bool):
        if not a.dtype.is_floating_point and not float(b).is_integer():
            a = a.float()
        if not a.dtype.is_floating_point and b < 0:
            raise ValueError("pow: integers to negative integer powers are not allowed")
        return UNARY["pow_scalar"].apply(a, exponent=b if not a.dtype.is_floating_point
                                         else float(b))
    return _binary("pow", a, b)


def square(x):
    return x * x


def reciprocal(x):
    return 1.0 / x


log1p = _unary("log1p")


def tensor_on(array, ref):
    """Upload a host array (float32 unless integral) to ``ref``'s device."""
    from .tensor import tensor
    return tensor(array, device=ref.device)


def clamp(x, min=None, max=None):  # noqa: A002
    _check_tensor("clamp", x)
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    T = _T()
    if isinstance(min, T) or isinstance(max, T):
        out = x
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    if not x.dtype.is_floating_point and any(isinstance(v, float) for v in (min, max)):
        x = x.float()
    return UNARY["clamp"].apply(x, lo=min, hi=max)


clip = clamp


def leaky_relu(x, negative_slope=0.01):
    return UNARY["leaky_relu"].apply(x, slope=float(negative_slope))


def gelu(x, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return UNARY["gelu"].apply(x, approximate=approximate == "tanh")


def softplus(x, beta=1.0, threshold=20.0):
    return UNARY["softplus"].apply(x, beta=float(beta), threshold=float(threshold))


# --- reductions -------------------------------------------------------------------------
def sum(x, dim=None, keepdim=False, dtype=None):  # noqa: A001
    _check_tensor("sum", x)
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype is dtypes.bool_:
        x = x.long()
    return Sum.apply(x, axes=norm_dims("sum", dim, x.ndim), keepdim=bool(keepdim))


def _count(x, axes):
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def mean(x, dim=None, keepdim=False, dtype=None):
    _check_tensor("mean", x)
    if not x.dtype.is_floating_point:
        if dtype is None:
            raise TypeError(f"mean: input dtype should be float, got {x.dtype}")
        x = x.to(dtype)
    axes = norm_dims("mean", dim, x.ndim)
    s = Sum.apply(x, axes=axes, keepdim=bool(keepdim))
    n = _count(x, axes)
    return s / n if n else s * math.nan


def amax(x, dim=None, keepdim=False):
    _check_tensor("amax", x)
    return Amax.apply(x, axes=norm_dims("amax", dim if dim != () else None, x.ndim),
                      keepdim=bool(keepdim))


def amin(x, dim=None, keepdim=False):
    _check_tensor("amin", x)
    return Amin.apply(x, axes=norm_dims("amin", dim if dim != () else None, x.ndim),
                      keepdim=bool(keepdim))


def argmax(x, dim=None, keepdim=False):
    _check_tensor("argmax", x)
    if dim is None:
        return Argmax.apply(x.reshape(-1), axis=0, keepdim=False)
    return Argmax.apply(x, axis=norm_dim("argmax", dim, x.ndim), keepdim=bool(keepdim)) \
        if x.ndim else Argmax.apply(x.reshape(1), axis=0, keepdim=False)


def argmin(x, dim=None, keepdim=False):
    _check_tensor("argmin", x)
    if dim is None:
        return Argmin.apply(x.reshape(-1), axis=0, keepdim=False)
    return Argmin.apply(x, axis=norm_dim("argmin", dim, x.ndim), keepdim=bool(keepdim)) \
        if x.ndim else Argmin.apply(x.reshape(1), axis=0, keepdim=False)


MinMax = collections.namedtuple("MinMax", ["values", "indices"])


def _minmax(name, x, dim, keepdim, other):
    T = _T()
    if isinstance(dim, T) or other is not None:
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
    _check_tensor("var", x)
    if isinstance(dim, bool):  # var(x, False): PyTorch's positional `unbiased`
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    axes = norm_dims("var", dim, x.ndim)
    n = _count(x, axes)
    mu = mean(x, axes, keepdim=True)
    d = x - mu
    s = Sum.apply(d * d, axes=axes, keepdim=bool(keepdim))
    return s / builtins.max(n - correction, 0)


def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return var(x, dim, unbiased, keepdim, correction).sqrt()


def logsumexp(x, dim, keepdim=False):
    _check_tensor("logsumexp", x)
    axes = norm_dims("logsumexp", dim, x.ndim)
    m = Amax.apply(x.detach(), axes=axes, keepdim=True)
    m = where(isfinite(m), m, 0.0)
    out = Sum.apply((x - m).exp(), axes=axes, keepdim=True).log() + m
    return out if keepdim else out.reshape(reduced_shape(x.shape, axes, False))


def softmax(x, dim, dtype=None):
    _check_tensor("softmax", x)
    if dtype is not None:
        x = x.to(dtype)
    axes = norm_dims("softmax", dim, x.ndim)
    e = (x - Amax.apply(x.detach(), axes=axes, keepdim=True)).exp()
    return e / Sum.apply(e, axes=axes, keepdim=True)


def log_softmax(x, dim, dtype=None):
    _check_tensor("log_softmax", x)
    if dtype is not None:
        x = x.to(dtype)
    return x - logsumexp(x, norm_dims("log_softmax", dim, x.ndim), keepdim=True)


def all(x, dim=None, keepdim=False):  # noqa: A001
    b = x if x.dtype is dtypes.bool_ else x != 0
    return sum(logical_not(b), dim, keepdim) == 0


def any(x, dim=None, keepdim=False):  # noqa: A001
    b = x if x.dtype is dtypes.bool_ else x != 0
    return sum(b, dim, keepdim) > 0


# --- shape --------------------------------------------------------------------------------
def _sizes(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def reshape(x, *shape):
    _check_tensor("reshape", x)
    shape = [int(s) for s in _sizes(shape)]
    n = x.numel()
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: only one dimension can be -1, got {tuple(shape)}")
    if -1 in shape:
        known = 1
        for s in shape:
            if s != -1:
                known *= s
        if known == 0 or n % known:
            raise ValueError(f"reshape: shape {tuple(shape)} is invalid for input of size {n} "
                             f"(input shape {tuple(x.shape)})")
        shape[shape.index(-1)] = n // known
    shape = tuple(shape)
    if any_neg(shape) or math.prod(shape) != n:
        raise ValueError(f"reshape: shape {shape} is invalid for input of size {n} "
                         f"(input shape {tuple(x.shape)})")
    if shape == tuple(x.shape):
        return x
    return Reshape.apply(x, shape=shape)


def any_neg(shape):
    return builtins.any(s < 0 for s in shape)


view = reshape


def permute(x, *dims):
    _check_tensor("permute", x)
    dims = _sizes(dims)
    if len(dims) != x.ndim:
        raise ValueError(f"permute: number of dims {len(dims)} doesn't match the tensor's "
                         f"{x.ndim} dims (shape {tuple(x.shape)})")
    nd = tuple(norm_dim("permute", d, x.ndim) for d in dims)
    if len(set(nd)) != len(nd):
        raise ValueError(f"permute: repeated dim in {tuple(dims)}")
    if nd == tuple(range(x.ndim)):
        return x
    return Permute.apply(x, dims=nd)


def transpose(x, dim0, dim1):
    _check_tensor("transpose", x)
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    a, b = norm_dim("transpose", dim0, x.ndim), norm_dim("transpose", dim1, x.ndim)
    dims = list(range(x.ndim))
    dims[a], dims[b] = dims[b], dims[a]
    return permute(x, dims)


swapaxes = transpose


def t(x):
    if x.ndim > 2:
        raise ValueError(f"t: expects a tensor of at most 2 dims, got shape {tuple(x.shape)}")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def squeeze(x, dim=None):
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    axes = norm_dims("squeeze", dim, x.ndim)
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if not (i in axes and s == 1)))


def unsqueeze(x, dim):
    d = norm_dim("unsqueeze", dim, x.ndim + 1)
    shape = list(x.shape)
    shape.insert(d, 1)
    return reshape(x, tuple(shape))


def expand(x, *sizes):
    _check_tensor("expand", x)
    sizes = _sizes(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"expand: the number of sizes {len(sizes)} must be at least the "
                         f"tensor's number of dims {x.ndim} (shape {tuple(x.shape)})")
    lead = len(sizes) - x.ndim
    out = []
    for i, s in enumerate(sizes):
        cur = x.shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise ValueError("expand: -1 is not allowed for a new leading dim")
            s = cur
        if cur is not None and cur != 1 and cur != s:
            raise ValueError(f"expand: the expanded size {s} must match the existing size "
                             f"{cur} at dim {i} (shape {tuple(x.shape)} to {tuple(sizes)})")
        out.append(int(s))
    out = tuple(out)
    if out == tuple(x.shape):
        return x
    if lead:
        x = reshape(x, (1,) * lead + tuple(x.shape))
    return Expand.apply(x, shape=out)


def expand_as(x, other):
    return expand(x, other.shape)


def broadcast_to(x, shape):
    return expand(x, shape)


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, (1,))
    s = norm_dim("flatten", start_dim, x.ndim)
    e = norm_dim("flatten", end_dim, x.ndim)
    if s > e:
        raise ValueError("flatten: start_dim cannot come after end_dim")
    shape = x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:]
    return reshape(x, shape)


def unflatten(x, dim, sizes):
    d = norm_dim("unflatten", dim, x.ndim)
    return reshape(x, x.shape[:d] + tuple(sizes) + x.shape[d + 1:]) if -1 not in sizes else \
        reshape(x, x.shape[:d] + tuple(sizes) + x.shape[d + 1:])


def narrow(x, dim, start, length):
    d = norm_dim("narrow", dim, x.ndim)
    if start < 0:
        start += x.shape[d]
    if not (0 <= start and start + length <= x.shape[d]) or length < 0:
        raise IndexError(f"narrow: start {start} + length {length} exceeds dim {d} of size "
                         f"{x.shape[d]}")
    return _slice(x, {d: (start, 1, length)})


def _slice(x, spec):
    """spec: {axis: (start, step, size)}; identity axes omitted."""
    starts, steps, shape = [0] * x.ndim, [1] * x.ndim, list(x.shape)
    for d, (s, st, n) in spec.items():
        starts[d], steps[d], shape[d] = s, st, n
    if tuple(shape) == tuple(x.shape):
        return x
    return Slice.apply(x, starts=tuple(starts), steps=tuple(steps), shape=tuple(shape))


def select(x, dim, index):
    d = norm_dim("select", dim, x.ndim)
    n = x.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select: index {index} is out of bounds for dim {d} with size {n}")
    return squeeze(narrow(x, d, index % n, 1), d)


def flip(x, dims):
    axes = norm_dims("flip", dims, x.ndim)
    return Flip.apply(x, dims=axes) if axes else x


def _promote_all(op, tensors):
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    for t_ in tensors:
        _check_tensor(op, t_)
    dt = tensors[0].dtype
    for t_ in tensors[1:]:
        dt = dtypes.promote(dt, t_.dtype)
    return [t_ if t_.dtype is dt else t_.to(dt) for t_ in tensors]


def cat(tensors, dim=0):
    tensors = _promote_all("cat", list(tensors))
    ref = next((t_ for t_ in tensors if not (t_.ndim == 1 and t_.shape[0] == 0)), tensors[0])
    tensors = [t_ for t_ in tensors if not (t_.ndim == 1 and t_.shape[0] == 0)] or [ref]
    d = norm_dim("cat", dim, ref.ndim)
    for t_ in tensors:
        if t_.ndim != ref.ndim or builtins.any(
                a != b for i, (a, b) in enumerate(zip(t_.shape, ref.shape)) if i != d):
            raise ValueError(f"cat: tensors must have the same shape except in dim {d}; got "
                             f"{tuple(ref.shape)} and {tuple(t_.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    return Cat.apply(*tensors, axis=d)


concat = concatenate = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    for t_ in tensors[1:]:
        if tuple(t_.shape) != tuple(tensors[0].shape):
            raise ValueError(f"stack: all tensors must have the same shape; got "
                             f"{tuple(tensors[0].shape)} and {tuple(t_.shape)}")
    d = norm_dim("stack", dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t_, d) for t_ in tensors], d)


def split(x, split_size_or_sections, dim=0):
    d = norm_dim("split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        s = split_size_or_sections
        if s <= 0:
            raise ValueError(f"split: split_size must be positive, got {s}")
        sizes = [s] * (n // s) + ([n % s] if n % s else [])
        if n == 0:
            sizes = [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} don't add up to {n}, the size of dim {d}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(x, d, start, s))
        start += s
    return tuple(out)


def chunk(x, chunks, dim=0):
    d = norm_dim("chunk", dim, x.ndim)
    n = x.shape[d]
    return split(x, builtins.max(1, -(-n // chunks)), d)


def unbind(x, dim=0):
    d = norm_dim("unbind", dim, x.ndim)
    return tuple(select(x, d, i) for i in range(x.shape[d]))


def repeat(x, *sizes):
    sizes = _sizes(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: number of repeat dims {len(sizes)} can't be smaller than "
                         f"the tensor's {x.ndim} dims")
    x = reshape(x, (1,) * (len(sizes) - x.ndim) + tuple(x.shape))
    inter = []
    for r, s in zip(sizes, x.shape):
        inter += [r, s]
    y = expand(reshape(x, tuple(v for s in x.shape for v in (1, s))), tuple(inter))
    return reshape(y, tuple(r * s for r, s in zip(sizes, x.shape)))


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
    return where(mask, _t(value, x), x)


def _parse_basic(x, idx):
    """Ints, slices, None and ... -> ({axis: (start, step, size)}, result shape)."""
    n_consume = builtins.sum(1 for it in idx if it is not None and it is not Ellipsis)
    if builtins.sum(1 for it in idx if it is Ellipsis) > 1:
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
    T = _T()
    return idx, [i for i, it in enumerate(idx) if isinstance(it, (T, list, np.ndarray))]


def getitem(x, idx):
    idx, adv = _as_index(x, idx)
    if adv:
        return _advanced_index(x, idx, adv)
    spec, out_shape = _parse_basic(x, idx)
    return reshape(_slice(x, spec), out_shape)


def _advanced_index(x, idx, adv):
    from .tensor import tensor
    if len(adv) > 1:
        raise NotImplementedError("index: only one tensor/list index per indexing expression is "
                                  "supported")
    pos = adv[0]
    if builtins.any(it is Ellipsis or it is None for it in idx):
        raise NotImplementedError("index: a tensor index can't be combined with None or ...")
    ind = idx[pos]
    if not isinstance(ind, _T()):
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
    from .autograd import is_grad_enabled
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
    v = expand(_t(value, x).to(x.dtype), out_shape).reshape(tuple(shape))
    kw = dict(starts=tuple(starts), steps=tuple(steps), shape=tuple(x.shape))
    placed = Unslice.apply(v, value=0, **kw)
    from .tensor import full
    marked = Unslice.apply(full(tuple(shape), True, device=x.device), value=False, **kw)
    x._assign(where(marked, placed, x))


def pad(x, pad, mode="constant", value=0.0):
    _check_tensor("pad", x)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: padding length {len(pad)} must be even and at most twice the "
                         f"number of dims ({x.ndim})")
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)]
    if mode == "constant":
        y = x
        crop = {}
        for i, (lo, hi) in enumerate(pairs):
            d = x.ndim - 1 - i
            if lo < 0 or hi < 0:
                s = -builtins.min(lo, 0)
                crop[d] = (s, 1, x.shape[d] - s - -builtins.min(hi, 0))
        if crop:
            y = _slice(y, crop)
        starts, shape = [0] * x.ndim, list(y.shape)
        for i, (lo, hi) in enumerate(pairs):
            d = x.ndim - 1 - i
            starts[d] = builtins.max(lo, 0)
            shape[d] += builtins.max(lo, 0) + builtins.max(hi, 0)
        if tuple(shape) == tuple(y.shape):
            return y
        return Unslice.apply(y, starts=tuple(starts), steps=(1,) * x.ndim, shape=tuple(shape),
                             value=float(value) if y.dtype.is_floating_point else int(value))
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: unknown mode {mode!r} (constant, reflect, replicate, circular)")
    y = x
    for i, (lo, hi) in enumerate(pairs):
        d = x.ndim - 1 - i
        n = y.shape[d]
        if lo < 0 or hi < 0:
            raise ValueError(f"pad: negative padding is not supported in {mode} mode")
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"pad: padding ({lo}, {hi}) should be less than the size {n} of dim "
                             f"{d} in reflect mode (shape {tuple(x.shape)})")
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError(f"pad: padding ({lo}, {hi}) can't exceed the size {n} of dim {d} in"
                             " circular mode")
        parts = []
        if lo:
            parts.append(flip(narrow(y, d, 1, lo), d) if mode == "reflect" else
                         expand(narrow(y, d, 0, 1), _with(y.shape, d, lo)) if mode == "replicate"
                         else narrow(y, d, n - lo, lo))
        parts.append(y)
        if hi:
            parts.append(flip(narrow(y, d, n - 1 - hi, hi), d) if mode == "reflect" else
                         expand(narrow(y, d, n - 1, 1), _with(y.shape, d, hi))
                         if mode == "replicate" else narrow(y, d, 0, hi))
        y = cat(parts, d)
    return y


def _with(shape, d, v):
    s = list(shape)
    s[d] = v
    return tuple(s)


# --- matmul -------------------------------------------------------------------------------
def matmul(a, b):
    _check_tensor("matmul", a)
    _check_tensor("matmul", b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dim, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    if not (a.dtype.is_floating_point and b.dtype.is_floating_point):
        if a.dtype is not b.dtype:
            raise TypeError(f"matmul: expected both tensors to have the same dtype, got "
                            f"{a.dtype} and {b.dtype}")
    a2 = unsqueeze(a, 0) if a.ndim == 1 else a
    b2 = unsqueeze(b, -1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                         f"multiplied ({a2.shape[-1]} != {b2.shape[-2]})")
    out = Matmul.apply(a2, b2)
    if a.ndim == 1:
        out = squeeze(out, -2)
    if b.ndim == 1:
        out = squeeze(out, -1)
    return out


def mm(a, b):
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expects 2-D tensors, got {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def bmm(a, b):
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: expects 3-D tensors with equal batch, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    return matmul(a, b)


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"dot: expects 1-D tensors, got {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def outer(a, b):
    return unsqueeze(a, 1) * unsqueeze(b, 0)


# --- methods --------------------------------------------------------------------------------
def _bind_methods(T):
    def rev(fn):
        return lambda self, other: fn(other, self)

    ops = {
        "__add__": add, "__radd__": rev(add), "__sub__": sub, "__rsub__": rev(sub),
        "__mul__": mul, "__rmul__": rev(mul), "__truediv__": div, "__rtruediv__": rev(div),
        "__pow__": pow, "__rpow__": rev(pow), "__matmul__": matmul, "__rmatmul__": rev(matmul),
        "__neg__": neg, "__abs__": abs, "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le,
        "__gt__": gt, "__ge__": ge, "__getitem__": getitem, "__setitem__": setitem,
        "__and__": logical_and, "__or__": logical_or, "__xor__": logical_xor,
        "__invert__": logical_not,
        "__floordiv__": lambda a, b: div(a, b, rounding_mode="floor"),
    }
    for k, v in ops.items():
        setattr(T, k, v)
    names = ("add sub mul div pow neg abs sign exp log sqrt rsqrt sin cos tanh sigmoid relu erf "
             "floor isnan isfinite isinf logical_not maximum minimum eq ne lt le gt ge clamp clip "
             "square reciprocal log1p sum mean amax amin argmax argmin max min var std logsumexp "
             "softmax log_softmax all any reshape view permute transpose swapaxes t squeeze "
             "unsqueeze expand expand_as broadcast_to flatten unflatten narrow select flip split "
             "chunk unbind repeat gather scatter_add index_select masked_fill matmul mm bmm dot "
             "outer").split()
    g = globals()
    for n in names:
        setattr(T, n, g[n])
    T.T = property(lambda self: permute(self, tuple(reversed(range(self.ndim)))))
    T.mT = property(lambda self: transpose(self, -2, -1))
    T.true_divide = div
    T.negative = neg
    T.multiply = mul
    T.subtract = sub
    T.divide = div
    T.greater = gt
    T.less = lt


__all__ = [n for n, v in list(globals().items())
           if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == __name__
           and n not in ("any_neg", "MinMax")] + [
    "negative", "absolute", "clip", "view", "swapaxes", "concat", "concatenate", "where",
    "broadcast_shapes"]
