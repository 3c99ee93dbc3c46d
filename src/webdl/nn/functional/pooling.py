"""Pooling."""
import math
import numbers

import numpy as np

from ...functions.reduction import max as _max
from ...functions.shape import pad
from ...functions.linalg import matmul
from ...ops.linalg import Unfold
from ...tensor import tensor
from ._utils import _pair, _need4d, _out


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
        if span < 0:
            raise ValueError(f"{op}: input of shape {tuple(x.shape)} is smaller than the kernel "
                             f"{k} (padding {p}, dilation {d})")
        o = (-(-span // s[i]) if ceil_mode else span // s[i]) + 1
        if ceil_mode and (o - 1) * s[i] >= size + p[i]:
            o -= 1
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


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    x, unb = _need4d("max_pool2d", x)
    if return_indices:
        raise NotImplementedError("max_pool2d: return_indices=True is not supported")
    k, s, p, d, ((ho, exh), (wo, exw)) = _pool_geometry("max_pool2d", x, kernel_size, stride,
                                                        padding, dilation, ceil_mode)
    n, c = x.shape[:2]
    tiles = _tiles(x, k, s, p, d, ho, wo, exh, exw)
    if tiles is not None:
        return _out(_max(tiles, 4).values, unb)
    xp = pad(x, (p[1], p[1] + max(exw, 0), p[0], p[0] + max(exh, 0)), value=-math.inf)
    cols = Unfold.apply(xp, kernel=k, dilation=d, stride=s).reshape(n, c, k[0] * k[1], ho * wo)
    y = _max(cols, 2).values
    return _out(y.reshape(n, c, ho, wo), unb)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    x, unb = _need4d("avg_pool2d", x)
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


def adaptive_avg_pool2d(x, output_size):
    x, unb = _need4d("adaptive_avg_pool2d", x)
    h, w = x.shape[2:]
    if isinstance(output_size, numbers.Integral):
        output_size = (output_size, output_size)
    oh, ow = (h if output_size[0] is None else output_size[0],
              w if output_size[1] is None else output_size[1])
    if oh <= 0 or ow <= 0:
        raise ValueError(f"adaptive_avg_pool2d: output size {(oh, ow)} must be positive")
    if h % oh == 0 and w % ow == 0:
        return _out(avg_pool2d(x, (h // oh, w // ow)), unb)
    mh = tensor(_adaptive_matrix(h, oh), device=x.device)
    mw = tensor(_adaptive_matrix(w, ow).T.copy(), device=x.device)
    return _out(matmul(mh, matmul(x, mw)), unb)


def adaptive_max_pool2d(x, output_size):
    x, unb = _need4d("adaptive_max_pool2d", x)
    h, w = x.shape[2:]
    oh, ow = _pair(output_size, "output_size", "adaptive_max_pool2d")
    if h % oh or w % ow:
        raise NotImplementedError("adaptive_max_pool2d: only sizes that divide the input")
    return _out(max_pool2d(x, (h // oh, w // ow)), unb)
