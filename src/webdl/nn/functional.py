"""``webdl.nn.functional``: the functional forms of layers, activations and losses.

Everything here is a composite of the primitives in ``webdl.ops``. Where a backend names
an op in ``backend.fused`` (conv2d on WebGL), that op runs as one fused kernel instead
(``webdl.ops.conv``), with the composite as its reference and its backward pass.
"""
import math
import numbers

import numpy as np

from .. import dtypes
from ..autograd import no_grad
from ..functions.elementwise import (UNARY_FUNCTIONS, where, leaky_relu, gelu,  # noqa: F401
                                     softplus, broadcast_shapes)
from ..functions.reduction import softmax, log_softmax, max as _max  # noqa: F401
from ..functions.shape import pad
from ..functions.indexing import index_select
from ..functions.linalg import matmul
from ..ops.conv import Conv2d
from ..ops.linalg import Unfold, Fold
from ..ops.movement import Gather
from ..tensor import arange, rand, tensor

relu, sigmoid, tanh = UNARY_FUNCTIONS["relu"], UNARY_FUNCTIONS["sigmoid"], UNARY_FUNCTIONS["tanh"]


def _pair(v, name, op):
    if isinstance(v, numbers.Integral):
        return (int(v), int(v))
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise ValueError(f"{op}: {name} must be an int or a pair, got {v}")
    return v


def _need4d(op, x):
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                         f"{tuple(x.shape)}")
    return (x.unsqueeze(0), True) if x.ndim == 3 else (x, False)


def _out(y, unbatched):
    return y.squeeze(0) if unbatched else y


# --- activations ---------------------------------------------------------------------------
def relu6(x):
    return x.clamp(0.0, 6.0)


def silu(x):
    return x * x.sigmoid()


def elu(x, alpha=1.0):
    return where(x > 0, x, (x.clamp(max=0.0).exp() - 1.0) * alpha)


def hardtanh(x, min_val=-1.0, max_val=1.0):
    return x.clamp(min_val, max_val)


def prelu(x, weight):
    if weight.numel() != 1 and (x.ndim < 2 or weight.numel() != x.shape[1]):
        raise ValueError(f"prelu: weight has {weight.numel()} elements but input has "
                         f"{x.shape[1] if x.ndim > 1 else 1} channels")
    w = weight.reshape((1, -1) + (1,) * (x.ndim - 2)) if weight.numel() != 1 and x.ndim > 1 \
        else weight.reshape(())
    return where(x > 0, x, x * w)


def logsigmoid(x):
    return -softplus(-x)


# --- linear ------------------------------------------------------------------------------
def linear(x, weight, bias=None):
    if x.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: input shape {tuple(x.shape)} and weight shape "
                         f"{tuple(weight.shape)} don't match ({x.shape[-1]} input features vs "
                         f"{weight.shape[-1]})")
    y = matmul(x, weight.t())
    return y + bias if bias is not None else y


# --- convolution ---------------------------------------------------------------------------
def _conv_padding(op, padding, kernel, dilation, stride):
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride {stride})")
            out = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                out.append((total // 2, total - total // 2))
            return (out[0][0], out[0][1], out[1][0], out[1][1])
        raise ValueError(f"{op}: padding must be 'same', 'valid', an int or a pair, got "
                         f"{padding!r}")
    ph, pw = _pair(padding, "padding", op)
    if ph < 0 or pw < 0:
        raise ValueError(f"{op}: negative padding {padding}")
    return (ph, ph, pw, pw)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    x, unb = _need4d("conv2d", x)
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (out, in/groups, kh, kw), got shape "
                         f"{tuple(weight.shape)}")
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    if groups < 1 or c % groups or o % groups or cg * groups != c:
        raise ValueError(f"conv2d: input shape {tuple(x.shape)} with groups={groups} expects "
                         f"weight of shape ({o}, {c // max(groups, 1)}, {kh}, {kw}), got "
                         f"{tuple(weight.shape)}")
    if bias is not None and tuple(bias.shape) != (o,):
        raise ValueError(f"conv2d: bias shape {tuple(bias.shape)} should be ({o},)")
    stride, dilation = _pair(stride, "stride", "conv2d"), _pair(dilation, "dilation", "conv2d")
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"conv2d: stride {stride} and dilation {dilation} must be positive")
    t, b_, l_, r_ = _conv_padding("conv2d", padding, (kh, kw), dilation, stride)
    hp, wp = h + t + b_, w + l_ + r_
    if hp < dilation[0] * (kh - 1) + 1 or wp < dilation[1] * (kw - 1) + 1:
        raise ValueError(f"conv2d: input of shape {tuple(x.shape)} (padded {hp}x{wp}) is smaller"
                         f" than the kernel {kh}x{kw} (dilation {dilation})")
    inputs = (x, weight) + ((bias,) if bias is not None else ())
    attrs = dict(stride=stride, pads=(t, b_, l_, r_), dilation=dilation, groups=groups)
    if "conv2d" in x.device.backend.fused:     # one kernel
        y = Conv2d.apply(*inputs, **attrs)
    else:                                      # pad + unfold + matmul
        y = Conv2d.decompose(*inputs, **attrs)
    return _out(y, unb)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    x, unb = _need4d("conv_transpose2d", x)
    n, cin, h, w = x.shape
    if weight.ndim != 4 or weight.shape[0] != cin or cin % groups:
        raise ValueError(f"conv_transpose2d: input shape {tuple(x.shape)} with groups={groups} "
                         f"expects weight of shape ({cin}, out/groups, kh, kw), got "
                         f"{tuple(weight.shape)}")
    _, og, kh, kw = weight.shape
    cout = og * groups
    stride = _pair(stride, "stride", "conv_transpose2d")
    dilation = _pair(dilation, "dilation", "conv_transpose2d")
    ph, pw = _pair(padding, "padding", "conv_transpose2d")
    oph, opw = _pair(output_padding, "output_padding", "conv_transpose2d")
    if oph >= max(stride[0], dilation[0]) or opw >= max(stride[1], dilation[1]):
        raise ValueError(f"conv_transpose2d: output_padding {(oph, opw)} must be smaller than "
                         f"stride or dilation")
    if bias is not None and tuple(bias.shape) != (cout,):
        raise ValueError(f"conv_transpose2d: bias shape {tuple(bias.shape)} should be ({cout},)")
    hf = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + oph
    wf = (w - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + opw
    ho, wo = hf - 2 * ph, wf - 2 * pw
    if ho <= 0 or wo <= 0:
        raise ValueError(f"conv_transpose2d: output size {(ho, wo)} is not positive")
    cg = cin // groups
    if groups == 1:
        cols = matmul(weight.reshape(cin, -1).t(), x.reshape(n, cin, h * w))
    else:
        wt = weight.reshape(groups, cg, og * kh * kw).transpose(1, 2)
        cols = matmul(wt, x.reshape(n, groups, cg, h * w)).reshape(n, cout * kh * kw, h * w)
    if oph or opw:
        # the extra output rows/cols get no window: fold into the exact size, then pad
        y = Fold.apply(cols, size=(hf - oph, wf - opw), kernel=(kh, kw), dilation=dilation,
                       stride=stride)
        y = pad(y, (0, opw, 0, oph))
    else:
        y = Fold.apply(cols, size=(hf, wf), kernel=(kh, kw), dilation=dilation, stride=stride)
    if ph or pw:
        y = y[:, :, ph:ph + ho, pw:pw + wo]
    if bias is not None:
        y = y + bias.reshape(1, cout, 1, 1)
    return _out(y, unb)


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    k, d = _pair(kernel_size, "kernel_size", "unfold"), _pair(dilation, "dilation", "unfold")
    p, s = _pair(padding, "padding", "unfold"), _pair(stride, "stride", "unfold")
    if p != (0, 0):
        x = pad(x, (p[1], p[1], p[0], p[0]))
    return Unfold.apply(x, kernel=k, dilation=d, stride=s)


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    k, d = _pair(kernel_size, "kernel_size", "fold"), _pair(dilation, "dilation", "fold")
    p, s = _pair(padding, "padding", "fold"), _pair(stride, "stride", "fold")
    size = _pair(output_size, "output_size", "fold")
    y = Fold.apply(x, size=(size[0] + 2 * p[0], size[1] + 2 * p[1]), kernel=k, dilation=d,
                   stride=s)
    return y[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]] if p != (0, 0) else y


# --- pooling -------------------------------------------------------------------------------
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


# --- resampling ----------------------------------------------------------------------------
def _src_scale(insize, outsize, align_corners, scale_factor):
    if align_corners:
        return (insize - 1) / (outsize - 1) if outsize > 1 else 0.0
    if scale_factor is not None:
        return 1.0 / scale_factor
    return insize / outsize


def _linear_matrix(insize, outsize, align_corners, scale_factor):
    scale = _src_scale(insize, outsize, align_corners, scale_factor)
    m = np.zeros((outsize, insize), dtype=np.float32)
    for o in range(outsize):
        src = o * scale if align_corners else max((o + 0.5) * scale - 0.5, 0.0)
        i0 = min(int(math.floor(src)), insize - 1)
        i1 = min(i0 + 1, insize - 1)
        l1 = np.float32(src - i0)
        m[o, i0] += np.float32(1.0) - l1
        m[o, i1] += l1
    return m


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None):
    x, unb = _need4d("interpolate", x)
    h, w = x.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        oh, ow = _pair(size, "size", "interpolate")
        sf = (None, None)
    else:
        sf = (scale_factor, scale_factor) if isinstance(scale_factor, numbers.Real) else \
            tuple(scale_factor)
        oh, ow = int(math.floor(h * sf[0])), int(math.floor(w * sf[1]))
        if recompute_scale_factor:
            sf = (None, None)
    if oh <= 0 or ow <= 0:
        raise ValueError(f"interpolate: output size {(oh, ow)} must be positive")
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError("interpolate: align_corners only goes with linear modes")
        y = x
        for axis, (insize, outsize, f) in ((2, (h, oh, sf[0])), (3, (w, ow, sf[1]))):
            if insize == outsize:
                continue
            scale = 1.0 / f if f is not None else insize / outsize
            idx = np.minimum(np.floor(np.arange(outsize, dtype=np.float32) * np.float32(scale)),
                             insize - 1).astype(np.int64)
            y = index_select(y, axis, tensor(idx, device=x.device))
        return _out(y, unb)
    if mode == "bilinear":
        ac = bool(align_corners)
        mh = tensor(_linear_matrix(h, oh, ac, sf[0]), device=x.device)
        mw = tensor(_linear_matrix(w, ow, ac, sf[1]).T.copy(), device=x.device)
        return _out(matmul(mh, matmul(x, mw)), unb)
    raise NotImplementedError(f"interpolate: mode {mode!r} is not supported (nearest, bilinear)")


def upsample(x, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(x, size, scale_factor, mode, align_corners)


def pixel_shuffle(x, upscale_factor):
    r = int(upscale_factor)
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise ValueError(f"pixel_shuffle: channels of shape {tuple(x.shape)} must be divisible "
                         f"by upscale_factor^2 = {r * r}")
    *b, c, h, w = x.shape
    y = x.reshape(-1, c // (r * r), r, r, h, w).permute(0, 1, 4, 2, 5, 3)
    return y.reshape(*b, c // (r * r), h * r, w * r)


def pixel_unshuffle(x, downscale_factor):
    r = int(downscale_factor)
    if x.ndim < 3 or x.shape[-1] % r or x.shape[-2] % r:
        raise ValueError(f"pixel_unshuffle: height and width of shape {tuple(x.shape)} must be "
                         f"divisible by downscale_factor = {r}")
    *b, c, h, w = x.shape
    y = x.reshape(-1, c, h // r, r, w // r, r).permute(0, 1, 3, 5, 2, 4)
    return y.reshape(*b, c * r * r, h // r, w // r)


def depth_to_space(x, block_size, data_format="NHWC"):
    """TensorFlow's depth_to_space (DCR order). NHWC by default, as in TensorFlow."""
    b = int(block_size)
    if x.ndim != 4:
        raise ValueError(f"depth_to_space: expected a 4-D input, got shape {tuple(x.shape)}")
    if data_format == "NCHW":
        x = x.permute(0, 2, 3, 1)
    elif data_format != "NHWC":
        raise ValueError(f"depth_to_space: data_format must be 'NHWC' or 'NCHW', got "
                         f"{data_format!r}")
    n, h, w, c = x.shape
    if c % (b * b):
        raise ValueError(f"depth_to_space: channels {c} must be divisible by block_size^2 = "
                         f"{b * b}")
    y = x.reshape(n, h, w, b, b, c // (b * b)).permute(0, 1, 3, 2, 4, 5)
    y = y.reshape(n, h * b, w * b, c // (b * b))
    return y.permute(0, 3, 1, 2) if data_format == "NCHW" else y


def space_to_depth(x, block_size, data_format="NHWC"):
    b = int(block_size)
    if data_format == "NCHW":
        x = x.permute(0, 2, 3, 1)
    n, h, w, c = x.shape
    y = x.reshape(n, h // b, b, w // b, b, c).permute(0, 1, 3, 2, 4, 5)
    y = y.reshape(n, h // b, w // b, c * b * b)
    return y.permute(0, 3, 1, 2) if data_format == "NCHW" else y


# --- regularisation, embedding, normalisation --------------------------------------------
def dropout(x, p=0.5, training=True, inplace=False):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = rand(*x.shape, device=x.device) >= p
    return x * keep * (1.0 / (1.0 - p))


def embedding(input, weight, padding_idx=None, max_norm=None):  # noqa: A002
    if input.dtype is not dtypes.int64:
        raise TypeError(f"embedding: indices must be int64, got {input.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D, got shape {tuple(weight.shape)}")
    out = index_select(weight, 0, input.reshape(-1)).reshape(*input.shape, weight.shape[1])
    if padding_idx is not None and out.requires_grad:
        pi = padding_idx % weight.shape[0]
        out = where((input == pi).unsqueeze(-1), out.detach(), out)
    return out


def one_hot(tensor, num_classes=-1):
    if tensor.dtype is not dtypes.int64:
        raise TypeError(f"one_hot: expects an int64 tensor, got {tensor.dtype}")
    if num_classes < 0:
        num_classes = int(tensor.max().item()) + 1 if tensor.numel() else 0
    return (tensor.unsqueeze(-1) == arange(num_classes, device=tensor.device)).long()


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(x.shape[x.ndim - k:]) != normalized_shape:
        raise ValueError(f"layer_norm: input shape {tuple(x.shape)} doesn't end with "
                         f"normalized_shape {normalized_shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != normalized_shape:
            raise ValueError(f"layer_norm: {name} shape {tuple(t.shape)} should be "
                             f"{normalized_shape}")
    axes = tuple(range(x.ndim - k, x.ndim))
    mu = x.mean(axes, keepdim=True)
    d = x - mu
    y = d * ((d * d).mean(axes, keepdim=True) + eps).rsqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected at least 2-D input (N, C, ...), got shape "
                         f"{tuple(x.shape)}")
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {name} shape {tuple(t.shape)} should be ({c},) for "
                             f"input shape {tuple(x.shape)}")
    shape = (1, c) + (1,) * (x.ndim - 2)
    axes = (0,) + tuple(range(2, x.ndim))
    if training or running_mean is None:
        n = x.numel() // max(c, 1)
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training,"
                             f" got input shape {tuple(x.shape)}")
        mu = x.mean(axes, keepdim=True)
        d = x - mu
        var = (d * d).mean(axes, keepdim=True)
        if training and running_mean is not None:
            with no_grad():
                m = 0.1 if momentum is None else momentum
                running_mean.copy_(running_mean * (1 - m) + mu.detach().reshape(c) * m)
                running_var.copy_(running_var * (1 - m) +
                                  var.detach().reshape(c) * (m * n / (n - 1)))
        y = d * (var + eps).rsqrt()
    else:
        y = (x - running_mean.reshape(shape)) * (running_var.reshape(shape) + eps).rsqrt()
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def normalize(x, p=2.0, dim=1, eps=1e-12):
    n = (x.abs().pow(p)).sum(dim, keepdim=True).pow(1.0 / p)
    return x / n.clamp(min=eps)


# --- losses ----------------------------------------------------------------------------------
def _reduce(op, loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _same_shape(op, a, b):
    if tuple(a.shape) != tuple(b.shape):
        broadcast_shapes(op, a.shape, b.shape)


def mse_loss(input, target, reduction="mean"):  # noqa: A002
    _same_shape("mse_loss", input, target)
    d = input - target
    return _reduce("mse_loss", d * d, reduction)


def l1_loss(input, target, reduction="mean"):  # noqa: A002
    _same_shape("l1_loss", input, target)
    return _reduce("l1_loss", (input - target).abs(), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):  # noqa: A002
    _same_shape("smooth_l1_loss", input, target)
    d = (input - target).abs()
    if beta == 0:
        return _reduce("smooth_l1_loss", d, reduction)
    return _reduce("smooth_l1_loss", where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta),
                   reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):  # noqa: A002
    _same_shape("huber_loss", input, target)
    d = (input - target).abs()
    return _reduce("huber_loss", where(d < delta, d * d * 0.5, (d - 0.5 * delta) * delta),
                   reduction)


def _class_targets(op, input, target):
    """Check (N, C, ...) / (C,) input against int64 targets; returns (class dim, C)."""
    if target.dtype is not dtypes.int64:
        raise TypeError(f"{op}: target must be int64 class indices, got {target.dtype}")
    if input.ndim == 1:
        if target.ndim != 0:
            raise ValueError(f"{op}: input of shape {tuple(input.shape)} expects a 0-d target, "
                             f"got shape {tuple(target.shape)}")
        return 0, input.shape[0]
    want = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != want:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} expects target of shape "
                         f"{want}, got {tuple(target.shape)}")
    return 1, input.shape[1]


def _check_class_targets(op, input, target, weight, ignore_index):
    cdim, c = _class_targets(op, input, target)
    if weight is not None and tuple(weight.shape) != (c,):
        raise ValueError(f"{op}: weight shape {tuple(weight.shape)} should be ({c},)")
    if target.numel():
        tv = target._value()
        bad = tv[(tv != ignore_index) & ((tv < 0) | (tv >= c))]
        if bad.size:
            raise IndexError(f"{op}: target {int(bad[0])} is out of bounds for {c} classes")
    return cdim, c


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):  # noqa: A002
    cdim, c = _check_class_targets("nll_loss", input, target, weight, ignore_index)
    valid = target != ignore_index
    safe = where(valid, target, 0)
    # the targets were range-checked above: gather without reading them back again
    picked = Gather.apply(input, safe.unsqueeze(cdim), axis=cdim).squeeze(cdim)
    w = valid.float()
    if weight is not None:
        w = w * index_select(weight, 0, safe.reshape(-1)).reshape(safe.shape)
    loss = -picked * w
    if reduction == "mean":
        return loss.sum() / w.sum()
    return _reduce("nll_loss", loss, reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",  # noqa: A002
                  label_smoothing=0.0):
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    cdim = 0 if input.ndim == 1 else 1
    c = input.shape[cdim]
    if not target.dtype.is_floating_point:
        _check_class_targets("cross_entropy", input, target, weight, ignore_index)
    logp = log_softmax(input, cdim)
    if target.dtype.is_floating_point:  # class probabilities
        if tuple(target.shape) != tuple(input.shape):
            raise ValueError(f"cross_entropy: probability targets must have the input's shape "
                             f"{tuple(input.shape)}, got {tuple(target.shape)}")
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / c
        lp = logp if weight is None else logp * weight.reshape((c,) + (1,) * (input.ndim - 2))
        loss = -(lp * target).sum(cdim)
        if reduction == "mean":
            return loss.sum() / (loss.numel() and input.numel() // c)
        return _reduce("cross_entropy", loss, reduction)
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if not label_smoothing:
        return nll
    valid = (target != ignore_index).float()
    wshape = (c,) + (1,) * (input.ndim - 2)
    lp = logp if weight is None else logp * weight.reshape(wshape)
    smooth = -lp.sum(cdim) * valid
    if reduction == "mean":
        if weight is not None:
            safe = where(target != ignore_index, target, 0)
            denom = (index_select(weight, 0, safe.reshape(-1)).reshape(safe.shape) *
                     valid).sum()
        else:
            denom = valid.sum()
        smooth = smooth.sum() / denom
    else:
        smooth = _reduce("cross_entropy", smooth, reduction)
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / c)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):  # noqa: A002
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"binary_cross_entropy: target shape {tuple(target.shape)} must match "
                         f"input shape {tuple(input.shape)}")
    loss = -(target * input.log().clamp(min=-100.0) +
             (1.0 - target) * (1.0 - input).log().clamp(min=-100.0))
    if weight is not None:
        loss = loss * weight
    return _reduce("binary_cross_entropy", loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",  # noqa: A002
                                     pos_weight=None):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"binary_cross_entropy_with_logits: target shape "
                         f"{tuple(target.shape)} must match input shape {tuple(input.shape)}")
    soft = UNARY_FUNCTIONS["log1p"]((-input.abs()).exp()) + (-input).clamp(min=0.0)
    if pos_weight is not None:
        lw = (pos_weight - 1.0) * target + 1.0
        loss = (1.0 - target) * input + lw * soft
    else:
        loss = (1.0 - target) * input + soft
    if weight is not None:
        loss = loss * weight
    return _reduce("binary_cross_entropy_with_logits", loss, reduction)


def kl_div(input, target, reduction="mean", log_target=False):  # noqa: A002
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = where(target > 0, target * (target.log() - input), 0.0)
    if reduction == "batchmean":
        return loss.sum() / input.shape[0]
    return _reduce("kl_div", loss, reduction)


# --- attention ------------------------------------------------------------------------
def _causal_mask(n, s, device=None):
    """True on and below the diagonal: query i may attend to keys 0..i."""
    return tensor(np.tril(np.ones((n, s), dtype=bool)), device=device)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(q k^T * scale + mask) v over the last two dims; leading dims broadcast. A
    boolean ``attn_mask`` marks the pairs that take part (True); a float one is added."""
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: query {tuple(query.shape)}, key "
                         f"{tuple(key.shape)} and value {tuple(value.shape)} don't fit "
                         "(q and k need one embedding size, k and v one sequence length)")
    if enable_gqa and query.ndim >= 3 and query.shape[-3] != key.shape[-3]:
        reps = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(reps, -3)
        value = value.repeat_interleave(reps, -3)
    n, s = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = matmul(query, key.transpose(-2, -1)) * scale
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("scaled_dot_product_attention: explicit attn_mask should not "
                               "be set when is_causal=True")
        attn_mask = _causal_mask(n, s, query.device)
    if attn_mask is not None:
        if attn_mask.dtype.name == "bool":
            scores = where(attn_mask, scores, -math.inf)
        else:
            scores = scores + attn_mask
    weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    return matmul(weights, value)
