"""Pooling: max (with indices) and average over windows, adaptive pooling, max unpooling.
The 1-D forms run as the 2-D ones on a height-1 image."""
import math
import numbers

import numpy as np

from ... import dtypes
from ...functions.elementwise import where, isfinite
from ...functions.reduction import max as _max
from ...functions.shape import cat, pad, stack
from ...ops.linalg import Unfold
from ...ops.movement import Gather, ScatterAdd
from ...tensor import tensor
from ._utils import _pair, _single, _need4d, _need3d, _out, _along


def _pool_geometry(op, x, kernel_size, stride, padding, dilation, ceil_mode):
    k = _pair(kernel_size, "kernel_size", op)
    s = _pair(stride if stride is not None and stride != [] else k, "stride", op)
    p = _pair(padding, "padding", op)
    d = _pair(dilation, "dilation", op)
    for i in range(2):
        if p[i] * 2 > k[i]:
            raise ValueError(f"{op}: padding {p} should be at most half of the kernel size {k}")
    h, w = x.shape[2:]
    dims = []
    for i, size in enumerate((h, w)):
        eff = d[i] * (k[i] - 1) + 1
        span = size + 2 * p[i] - eff
        o = (-(-span // s[i]) if ceil_mode else span // s[i]) + 1
        if ceil_mode and (o - 1) * s[i] >= size + p[i]:
            o -= 1
        if o <= 0:
            raise ValueError(f"{op}: input of shape {tuple(x.shape)} is too small for the kernel "
                             f"{k} (stride {s}, padding {p}, dilation {d}): the output would be "
                             f"empty")
        dims.append((o, (o - 1) * s[i] + eff - size - 2 * p[i]))
    return k, s, p, d, dims


def _tiles(x, k, s, p, d, ho, wo, exh, exw):
    """Non-overlapping windows (stride = kernel, no padding, no ceil-mode overhang) as a
    view (n, c, ho, wo, kh * kw): a reshape and permute instead of unfold, whose backward
    is a view again instead of fold; None for other windows."""
    if k != s or p != (0, 0) or d != (1, 1) or exh > 0 or exw > 0:
        return None
    n, c = x.shape[:2]
    if x.shape[2] != ho * k[0] or x.shape[3] != wo * k[1]:
        x = x[:, :, :ho * k[0], :wo * k[1]]      # the rows and columns no window covers
    t = x.reshape(n, c, ho, k[0], wo, k[1])
    if k[0] > 1 and wo > 1:
        t = t.permute(0, 1, 2, 4, 3, 5)
    return t.reshape(n, c, ho, wo, k[0] * k[1])


def _max_pool(op, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    """Max pooling of a batched 4-D x; with return_indices, each maximum's flat index in
    its (H * W) input plane, the first maximum of its window as in PyTorch."""
    k, s, p, d, ((ho, exh), (wo, exw)) = _pool_geometry(op, x, kernel_size, stride, padding,
                                                        dilation, ceil_mode)
    n, c, h, w = x.shape
    tiles = _tiles(x, k, s, p, d, ho, wo, exh, exw)
    if tiles is not None:
        best = _max(tiles, 4)
    else:
        xp = pad(x, (p[1], p[1] + max(exw, 0), p[0], p[0] + max(exh, 0)), value=-math.inf)
        cols = Unfold.apply(xp, kernel=k, dilation=d, stride=s)
        best = _max(cols.reshape(n, c, k[0] * k[1], ho * wo), 2)
    values = best.values.reshape(n, c, ho, wo)
    if not return_indices:
        return values
    pos = best.indices.reshape(n, c, ho, wo)          # offset inside the window
    # its row ki = pos // kw, counted with comparisons: exact on every backend
    ki = None
    for t in range(1, k[0]):
        step = (pos >= t * k[1]).long()
        ki = step if ki is None else ki + step
    kj = pos if ki is None else pos - ki * k[1]
    row = tensor((np.arange(ho) * s[0] - p[0]).reshape(ho, 1), device=x.device)
    if ki is not None:
        row = row + ki * d[0]
    col = tensor((np.arange(wo) * s[1] - p[1]).reshape(1, wo), device=x.device) + kj * d[1]
    return values, row * w + col


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False, return_indices=False):
    x, unb = _need4d("max_pool2d", input)
    out = _max_pool("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode,
                    return_indices)
    return tuple(_out(t, unb) for t in out) if return_indices else _out(out, unb)


def _as2d(op, kernel_size, stride, padding, dilation):
    """1-D pooling arguments as the 2-D ones of a height-1 image."""
    k = _single(kernel_size, "kernel_size", op)[0]
    s = k if stride is None or stride == [] else _single(stride, "stride", op)[0]
    return ((1, k), (1, s), (0, _single(padding, "padding", op)[0]),
            (1, _single(dilation, "dilation", op)[0]))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False, return_indices=False):
    x, unb = _need3d("max_pool1d", input)
    k, s, p, d = _as2d("max_pool1d", kernel_size, stride, padding, dilation)
    out = _max_pool("max_pool1d", x.unsqueeze(2), k, s, p, d, ceil_mode, return_indices)
    if return_indices:
        return tuple(_out(t.squeeze(2), unb) for t in out)
    return _out(out.squeeze(2), unb)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    x, unb = _need4d("avg_pool2d", input)
    k, s, p, d, ((ho, exh), (wo, exw)) = _pool_geometry("avg_pool2d", x, kernel_size, stride,
                                                        padding, 1, ceil_mode)
    n, c, h, w = x.shape
    tiles = _tiles(x, k, s, p, d, ho, wo, exh, exw)
    if tiles is not None:
        total = tiles.sum(4).reshape(n, c, 1, ho * wo)
    else:
        widths = (p[1], p[1] + max(exw, 0), p[0], p[0] + max(exh, 0))
        cols = Unfold.apply(pad(x, widths), kernel=k, dilation=d, stride=s)
        total = cols.reshape(n, c, k[0] * k[1], ho * wo).sum(2)
    if divisor_override:
        y = total / divisor_override
    elif count_include_pad and not (ceil_mode and (exh > 0 or exw > 0)):
        y = total / (k[0] * k[1])
    else:
        # per-window divisor computed on the host: windows clipped to the input (or, with
        # count_include_pad, to the padded input)
        cnt = np.zeros((ho, wo), dtype=np.float32)
        lim_h, lim_w = (h + p[0], w + p[1]) if count_include_pad else (h, w)
        off_h, off_w = (-p[0], -p[1]) if count_include_pad else (0, 0)
        for i in range(ho):
            hs = i * s[0] - p[0]
            he = min(hs + k[0], lim_h)
            hs = max(hs, off_h)
            for j in range(wo):
                ws = j * s[1] - p[1]
                we = min(ws + k[1], lim_w)
                ws = max(ws, off_w)
                cnt[i, j] = (he - hs) * (we - ws)
        y = total / tensor(cnt.reshape(1, 1, -1), device=x.device)
    return _out(y.reshape(n, c, ho, wo), unb)


def _adaptive_matrix(insize, outsize):
    m = np.zeros((outsize, insize), dtype=np.float32)
    for i in range(outsize):
        a = (i * insize) // outsize
        b = -(-((i + 1) * insize) // outsize)
        m[i, a:b] = 1.0 / (b - a)
    return m


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True):
    x, unb = _need3d("avg_pool1d", input)
    k, s, p, _ = _as2d("avg_pool1d", kernel_size, stride, padding, 1)
    return _out(avg_pool2d(x.unsqueeze(2), k, s, p, ceil_mode, count_include_pad).squeeze(2),
                unb)


def _adaptive_sizes(op, x, output_size, nd):
    insizes = tuple(x.shape[x.ndim - nd:])
    if isinstance(output_size, numbers.Integral) or output_size is None:
        output_size = (output_size,) * nd
    output_size = tuple(output_size)
    if len(output_size) != nd:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {nd}, got "
                         f"{output_size}")
    out = tuple(n if o is None else int(o) for n, o in zip(insizes, output_size))
    if min(out) <= 0:
        raise ValueError(f"{op}: output size {out} must be positive")
    return insizes, out


def _adaptive_avg_pool(x, outsizes, op):
    """Average over PyTorch's adaptive windows [floor(i*n/o), ceil((i+1)*n/o)) of the last
    len(outsizes) dims: separable, one constant matrix per dim (avg_pool2d's tiles when the
    sizes divide, in 2-D)."""
    nd = len(outsizes)
    insizes = tuple(x.shape[x.ndim - nd:])
    if nd == 2 and x.ndim in (3, 4) and all(n % o == 0 for n, o in zip(insizes, outsizes)):
        return avg_pool2d(x, tuple(n // o for n, o in zip(insizes, outsizes)))
    y = x
    for i, (n, o) in enumerate(zip(insizes, outsizes)):
        y = _along(y, x.ndim - nd + i, _adaptive_matrix(n, o))
    return y


def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    _need3d("adaptive_avg_pool1d", input)
    _, out = _adaptive_sizes("adaptive_avg_pool1d", input, output_size, 1)
    return _adaptive_avg_pool(input, out, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    _need4d("adaptive_avg_pool2d", input)
    _, out = _adaptive_sizes("adaptive_avg_pool2d", input, output_size, 2)
    return _adaptive_avg_pool(input, out, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input, output_size):  # noqa: A002
    if input.ndim not in (4, 5):
        raise ValueError(f"adaptive_avg_pool3d: expected a 4-D (C, D, H, W) or 5-D "
                         f"(N, C, D, H, W) input, got shape {tuple(input.shape)}")
    _, out = _adaptive_sizes("adaptive_avg_pool3d", input, output_size, 3)
    return _adaptive_avg_pool(input, out, "adaptive_avg_pool3d")


def _window_max(x, axis, n, o):
    """Max over the adaptive windows along ``axis``: (values, absolute argmax)."""
    vals, args = [], []
    for i in range(o):
        a, b = (i * n) // o, -(-((i + 1) * n) // o)
        best = _max(x.narrow(axis, a, b - a), axis)
        vals.append(best.values)
        args.append(best.indices + a)
    return stack(vals, axis), stack(args, axis)


def _adaptive_max_pool(x, outsizes, return_indices, op):
    """Adaptive max pooling of the last 1 or 2 dims: max_pool when the sizes divide, else
    separable window maxima (first along W, then H); indices flat in the input plane, the
    first maximum in row-major order as in PyTorch."""
    nd = len(outsizes)
    insizes = tuple(x.shape[x.ndim - nd:])
    if all(n % o == 0 for n, o in zip(insizes, outsizes)):
        k = tuple(n // o for n, o in zip(insizes, outsizes))
        if nd == 1:
            return max_pool1d(x, k, return_indices=return_indices)
        return max_pool2d(x, k, return_indices=return_indices)
    v, col = _window_max(x, x.ndim - 1, insizes[-1], outsizes[-1])
    if nd == 1:
        return (v, col) if return_indices else v
    h, w = insizes
    oh = outsizes[0]
    vals, idxs = [], []
    for i in range(oh):
        a, b = (i * h) // oh, -(-((i + 1) * h) // oh)
        best = _max(v.narrow(x.ndim - 2, a, b - a), x.ndim - 2, keepdim=True)
        vals.append(best.values)
        if return_indices:
            c = Gather.apply(col.narrow(x.ndim - 2, a, b - a).float(), best.indices,
                             axis=x.ndim - 2).long()
            idxs.append((best.indices + a) * w + c)
    values = cat(vals, x.ndim - 2)
    return (values, cat(idxs, x.ndim - 2)) if return_indices else values


def adaptive_max_pool1d(input, output_size, return_indices=False):  # noqa: A002
    _need3d("adaptive_max_pool1d", input)
    _, out = _adaptive_sizes("adaptive_max_pool1d", input, output_size, 1)
    return _adaptive_max_pool(input, out, return_indices, "adaptive_max_pool1d")


def adaptive_max_pool2d(input, output_size, return_indices=False):  # noqa: A002
    _need4d("adaptive_max_pool2d", input)
    _, out = _adaptive_sizes("adaptive_max_pool2d", input, output_size, 2)
    return _adaptive_max_pool(input, out, return_indices, "adaptive_max_pool2d")


# --- max unpooling -----------------------------------------------------------------------------
def _unpool_size(op, x, kernel, stride, padding, output_size, nd):
    default = [(x.shape[x.ndim - nd + i] - 1) * stride[i] + kernel[i] - 2 * padding[i]
               for i in range(nd)]
    if output_size is None:
        return tuple(default)
    output_size = [int(v) for v in output_size]
    if len(output_size) == nd + 2:
        output_size = output_size[2:]
    if len(output_size) != nd:
        raise ValueError(f"{op}: output_size should be a sequence containing {nd} or {nd + 2} "
                         f"elements, but it has a length of '{len(output_size)}'")
    for i in range(nd):
        lo, hi = default[i] - stride[i], default[i] + stride[i]
        if not lo < output_size[i] < hi:
            raise ValueError(f'{op}: invalid output_size "{output_size}" (dim {i} must be '
                             f'between {lo} and {hi})')
    return tuple(output_size)


def _max_unpool(op, x, indices, size):
    """Each value of x written at its flat index into a zero (..., *size) output. Where
    indices repeat, the last write wins (PyTorch's CPU kernel) and every input element's
    gradient is the output gradient at its index."""
    nd = len(size)
    if tuple(indices.shape) != tuple(x.shape):
        raise ValueError(f"{op}: expected shape of indices {tuple(indices.shape)} to be the "
                         f"input's {tuple(x.shape)}")
    if indices.dtype is not dtypes.int64:
        raise TypeError(f"{op}: indices must be int64, got {indices.dtype}")
    lead = tuple(x.shape[:x.ndim - nd])
    plane = 1
    for v in x.shape[x.ndim - nd:]:
        plane *= v
    total = 1
    for v in size:
        total *= v
    xf, idf = x.reshape(-1, plane), indices.reshape(-1, plane)
    rows = xf.shape[0]
    host = idf._value().astype(np.int64)
    if host.size and (host.min() < 0 or host.max() >= total):
        bad = int(host.min() if host.min() < 0 else host.max())
        raise IndexError(f"{op}: found an invalid max index {bad} (output volumes are of size "
                         f"{'x'.join(str(v) for v in size)})")
    key = (np.arange(rows)[:, None] * total + host).reshape(-1)
    order = np.argsort(key, kind="stable")
    ks = key[order]
    last = np.ones(ks.size, dtype=bool)
    last[:-1] = ks[:-1] != ks[1:]
    keep = np.zeros(ks.size, dtype=bool)
    keep[order[last]] = True
    shape = (rows, total)
    if keep.all():
        out = ScatterAdd.apply(xf, idf, axis=1, shape=shape)
    else:
        kt = tensor(keep.reshape(rows, plane), device=x.device)
        out = ScatterAdd.apply(where(kt, xf, 0.0), idf, axis=1, shape=shape)
        if xf.requires_grad:
            # the overwritten elements: zero in the forward, their gradient in the backward
            lost = ScatterAdd.apply(where(kt, 0.0, xf), idf, axis=1, shape=shape)
            out = where(isfinite(lost), out + (lost - lost.detach()), out)
    return out.reshape(*lead, *size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0,  # noqa: A002
                 output_size=None):
    _need3d("max_unpool1d", input)
    k = _single(kernel_size, "kernel_size", "max_unpool1d")
    s = k if stride is None else _single(stride, "stride", "max_unpool1d")
    p = _single(padding, "padding", "max_unpool1d")
    size = _unpool_size("max_unpool1d", input, k, s, p, output_size, 1)
    return _max_unpool("max_unpool1d", input, indices, size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0,  # noqa: A002
                 output_size=None):
    _need4d("max_unpool2d", input)
    k = _pair(kernel_size, "kernel_size", "max_unpool2d")
    s = k if stride is None else _pair(stride, "stride", "max_unpool2d")
    p = _pair(padding, "padding", "max_unpool2d")
    size = _unpool_size("max_unpool2d", input, k, s, p, output_size, 2)
    return _max_unpool("max_unpool2d", input, indices, size)
