"""Shape and movement functions. Views of the input (they share its storage, see
webdl.storage): reshape/view, permute/transpose/t, squeeze/unsqueeze, expand, flatten,
narrow/select, split/chunk/unbind/tensor_split, diagonal, movedim. Copies: flip, roll,
cat/stack, repeat, repeat_interleave, pad, tril/triu."""
import math

import numpy as np

from .. import dtypes
from ..ops.elementwise import Where
from ..ops.movement import Reshape, Permute, Expand, Slice, Unslice, Flip, Cat, Gather
from ..ops.reduce import norm_dim, norm_dims
from ..storage import geometry, view_strides
from ..autograd import is_grad_enabled
from ..tensor import Tensor, constant, tensor
from .common import BOTH, FUNCTION, METHOD, check_tensor, size_args


def _target_shape(op, x, shape):
    """A requested shape with its -1 filled in, checked against x's element count."""
    check_tensor(op, x)
    shape = size_args(shape)
    n = x.numel()
    if not all(type(s) is int and s >= 0 for s in shape):   # (every size given: common)
        shape = [int(s) for s in shape]
        if shape.count(-1) > 1:
            raise ValueError(f"{op}: only one dimension can be -1, got {tuple(shape)}")
        if -1 in shape:
            known = 1
            for s in shape:
                if s != -1:
                    known *= s
            if known == 0 or n % known:
                raise ValueError(f"{op}: shape {tuple(shape)} is invalid for input of size "
                                 f"{n} (input shape {tuple(x.shape)})")
            shape[shape.index(-1)] = n // known
        shape = tuple(shape)
    if any(s < 0 for s in shape) or math.prod(shape) != n:
        raise ValueError(f"{op}: shape {shape} is invalid for input of size {n} "
                         f"(input shape {tuple(x.shape)})")
    return shape


def reshape(x, *shape):
    """A view when strides allow it, else a copy (as PyTorch's reshape)."""
    shape = _target_shape("reshape", x, shape)
    if shape == tuple(x.shape):
        return x
    return Reshape.apply(x, shape=shape)


def view(x, *shape):
    """Always a view: refused when x's strides can't express the new shape."""
    shape = _target_shape("view", x, shape)
    if shape == tuple(x.shape):
        return x
    if x._chain and view_strides(tuple(x.shape), geometry(x)[0], shape) is None:
        raise RuntimeError("view size is not compatible with input tensor's size and stride "
                           "(at least one dimension spans across two contiguous subspaces). "
                           "Use .reshape(...) instead.")
    return Reshape.apply(x, shape=shape)      # (the shape checked: not reshape's checks again)


def view_as(x, other):
    return view(x, other.shape)


def reshape_as(x, other):
    return reshape(x, other.shape)


def permute(x, *dims):
    check_tensor("permute", x)
    dims = size_args(dims)
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
    check_tensor("transpose", x)
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    a, b = norm_dim("transpose", dim0, x.ndim), norm_dim("transpose", dim1, x.ndim)
    if a == b:
        return x
    dims = list(range(x.ndim))
    dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(x, dims=tuple(dims))      # a permutation already: permute's checks


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
    check_tensor("expand", x)
    sizes = size_args(sizes)
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
    return reshape(x, x.shape[:d] + tuple(sizes) + x.shape[d + 1:])


def narrow(x, dim, start, length):
    d = norm_dim("narrow", dim, x.ndim)
    if start < 0:
        start += x.shape[d]
    if not (0 <= start and start + length <= x.shape[d]) or length < 0:
        raise IndexError(f"narrow: start {start} + length {length} exceeds dim {d} of size "
                         f"{x.shape[d]}")
    return strided_slice(x, {d: (start, 1, length)})


def strided_slice(x, spec):
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


def diagonal(x, offset=0, dim1=0, dim2=1):
    """The diagonal of dims dim1, dim2 as the last dim: a view (a reshape merging the two
    dims, then a slice stepping by the row length + 1) when those dims merge."""
    d1, d2 = norm_dim("diagonal", dim1, x.ndim), norm_dim("diagonal", dim2, x.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    y = permute(x, [d for d in range(x.ndim) if d not in (d1, d2)] + [d1, d2])
    n, m = y.shape[-2:]
    length = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
    start = (offset if offset >= 0 else -offset * m) if length else 0
    flat = reshape(y, tuple(y.shape[:-2]) + (n * m,))
    return strided_slice(flat, {flat.ndim - 1: (start, m + 1, length)})


def flip(x, dims):
    axes = norm_dims("flip", dims, x.ndim)
    return Flip.apply(x, dims=axes) if axes else x


def _promote_all(op, tensors):
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    for t_ in tensors:
        check_tensor(op, t_)
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
        if t_.ndim != ref.ndim or any(
                a != b for i, (a, b) in enumerate(zip(t_.shape, ref.shape)) if i != d):
            raise ValueError(f"cat: tensors must have the same shape except in dim {d}; got "
                             f"{tuple(ref.shape)} and {tuple(t_.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    return Cat.apply(*tensors, axis=d)




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
        if sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} don't add up to {n}, the size of dim {d}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(x, d, start, s))
        start += s
    return tuple(out)


def chunk(x, chunks, dim=0):
    d = norm_dim("chunk", dim, x.ndim)
    n = x.shape[d]
    return split(x, max(1, -(-n // chunks)), d)


def unbind(x, dim=0):
    d = norm_dim("unbind", dim, x.ndim)
    return tuple(select(x, d, i) for i in range(x.shape[d]))


def repeat(x, *sizes):
    sizes = size_args(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: number of repeat dims {len(sizes)} can't be smaller than "
                         f"the tensor's {x.ndim} dims")
    x = reshape(x, (1,) * (len(sizes) - x.ndim) + tuple(x.shape))
    inter = []
    for r, s in zip(sizes, x.shape):
        inter += [r, s]
    y = expand(reshape(x, tuple(v for s in x.shape for v in (1, s))), tuple(inter))
    return reshape(y, tuple(r * s for r, s in zip(sizes, x.shape)))


def pad(x, pad, mode="constant", value=0.0):
    check_tensor("pad", x)
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
                s = -min(lo, 0)
                crop[d] = (s, 1, x.shape[d] - s - -min(hi, 0))
        if crop:
            y = strided_slice(y, crop)
        starts, shape = [0] * x.ndim, list(y.shape)
        for i, (lo, hi) in enumerate(pairs):
            d = x.ndim - 1 - i
            starts[d] = max(lo, 0)
            shape[d] += max(lo, 0) + max(hi, 0)
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


def movedim(x, source, destination):
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {source} and destination {destination} must have "
                         "the same number of dims")
    src = [norm_dim("movedim", d, x.ndim) for d in src]
    dst = [norm_dim("movedim", d, x.ndim) for d in dst]
    order = [None] * x.ndim
    for s_, d_ in zip(src, dst):
        order[d_] = s_
    rest = iter(d for d in range(x.ndim) if d not in src)
    return permute(x, [d if d is not None else next(rest) for d in order])


def tensor_split(x, indices_or_sections, dim=0):
    """Views of x along dim: n nearly equal parts, or cut at the given indices."""
    d = norm_dim("tensor_split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0:
            raise ValueError(f"tensor_split: number of sections must be positive, got {k}")
        cuts = [i * (n // k) + min(i, n % k) for i in range(1, k)]
    else:
        cuts = [int(i) for i in indices_or_sections]
    bounds = [0] + [min(max(c if c >= 0 else c + n, 0), n) for c in cuts] + [n]
    return tuple(narrow(x, d, a, max(b - a, 0)) for a, b in zip(bounds[:-1], bounds[1:]))


def roll(x, shifts, dims=None):
    if dims is None:
        return reshape(roll(reshape(x, (-1,)), shifts, 0), tuple(x.shape))
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    dims = [dims] if isinstance(dims, int) else list(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    for s_, dim in zip(shifts, dims):
        d = norm_dim("roll", dim, x.ndim)
        n = x.shape[d]
        s_ = s_ % n if n else 0
        if not s_:
            continue
        # the last s_ placed first and the rest after them, each position taking the one
        # placed there (a constant mask along d): on a GPU an expression of the elementwise
        # chain that reads it, no draw of its own (a gather, or cat's copies, drew one);
        # exact for every value (-0.0, NaN); its gradient the two slices of g
        shape, starts = tuple(x.shape), [0] * x.ndim
        kw = dict(steps=(1,) * x.ndim, shape=shape, value=0)
        last = Unslice.apply(narrow(x, d, n - s_, s_), starts=tuple(starts), **kw)
        starts[d] = s_
        rest = Unslice.apply(narrow(x, d, 0, n - s_), starts=tuple(starts), **kw)
        view = [1] * x.ndim
        view[d] = n
        first = constant((np.arange(n) < s_).reshape(view), dtypes.bool_, x.device)
        x = Where.apply(first, last, rest)     # the mask broadcast by where itself
    return x


def _triangle(op, x, diagonal, lower):
    if x.ndim < 2:
        raise ValueError(f"{op}: input must have at least 2 dims, got shape {tuple(x.shape)}")
    n, m = x.shape[-2:]
    rows = np.arange(n).reshape(n, 1)
    cols = np.arange(m).reshape(1, m)
    keep = (cols - rows <= diagonal) if lower else (cols - rows >= diagonal)
    zero = tensor(np.zeros((), dtype=x.dtype.np), device=x.device)
    return Where.apply(tensor(keep, device=x.device), x, zero)


def tril(x, diagonal=0):
    return _triangle("tril", x, diagonal, True)


def triu(x, diagonal=0):
    return _triangle("triu", x, diagonal, False)


def repeat_interleave(x, repeats=None, dim=None, output_size=None):
    """Each element repeated ``repeats`` times along dim (x flattened when dim is None)."""
    if not isinstance(x, Tensor):
        raise TypeError("repeat_interleave: expected a Tensor")
    if repeats is None:         # repeat_interleave(counts): indices repeated by counts
        counts = x._value()
        return tensor(np.repeat(np.arange(counts.size), counts.astype(np.intp)),
                      device=x.device)
    if dim is None:
        x, dim = reshape(x, (-1,)), 0
    d = norm_dim("repeat_interleave", dim, x.ndim)
    if isinstance(repeats, Tensor) and repeats.numel() == 1:
        repeats = int(repeats.item())
    if isinstance(repeats, int):
        y = unsqueeze(x, d + 1)
        shape = list(y.shape)
        shape[d + 1] = repeats
        y = expand(y, tuple(shape))
        return reshape(y, tuple(x.shape[:d]) + (x.shape[d] * repeats,) + tuple(x.shape[d + 1:]))
    reps = repeats._value() if isinstance(repeats, Tensor) else np.asarray(repeats)
    if reps.shape != (x.shape[d],):
        raise ValueError(f"repeat_interleave: repeats must have shape ({x.shape[d]},), got "
                         f"{tuple(reps.shape)}")
    index = tensor(np.repeat(np.arange(x.shape[d]), reps.astype(np.intp)), device=x.device)
    shape = [1] * x.ndim
    shape[d] = index.shape[0]
    full_shape = list(x.shape)
    full_shape[d] = index.shape[0]
    return Gather.apply(x, expand(reshape(index, tuple(shape)), tuple(full_shape)), axis=d)


def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = list(tensors)
    if indexing == "xy" and len(ts) >= 2:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t_.numel() for t_ in ts)
    out = []
    for i, t_ in enumerate(ts):
        view_shape = [1] * len(ts)
        view_shape[i] = t_.numel()
        out.append(expand(reshape(t_, tuple(view_shape)), shape))
    if indexing == "xy" and len(out) >= 2:     # 'ij' of (y, x, ...), given back as (x, y, ...)
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def _with(shape, d, v):
    s = list(shape)
    s[d] = v
    return tuple(s)


API = {
    **{name: (fn, BOTH) for name, fn in {
        "reshape": reshape, "view": view, "view_as": view_as, "reshape_as": reshape_as,
        "diagonal": diagonal, "permute": permute, "transpose": transpose,
        "swapaxes": swapaxes, "t": t, "squeeze": squeeze, "unsqueeze": unsqueeze,
        "expand": expand, "expand_as": expand_as, "broadcast_to": broadcast_to,
        "flatten": flatten, "unflatten": unflatten, "narrow": narrow, "select": select,
        "flip": flip, "split": split, "chunk": chunk, "unbind": unbind, "repeat": repeat,
        "movedim": movedim, "moveaxis": movedim, "tensor_split": tensor_split, "roll": roll,
        "tril": tril, "triu": triu, "repeat_interleave": repeat_interleave}.items()},
    **{name: (fn, FUNCTION) for name, fn in {
        "cat": cat, "concat": cat, "concatenate": cat, "stack": stack, "pad": pad,
        "meshgrid": meshgrid}.items()},
    "T": (property(lambda self: permute(self, tuple(reversed(range(self.ndim))))), METHOD),
    "mT": (property(lambda self: transpose(self, -2, -1)), METHOD),
}
