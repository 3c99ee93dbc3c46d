"""Convolutions (fused on backends that name conv2d in ``backend.fused``) and
unfold/fold."""
from ...functions.shape import pad
from ...functions.linalg import matmul
from ...ops.conv import Conv2d
from ...ops.linalg import Unfold, Fold
from ...ops.movement import Unslice
from ._utils import _pair, _single, _need4d, _need3d, _out


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


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    x, unb = _need4d("conv2d", input)
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


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    x, unb = _need4d("conv_transpose2d", input)
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
    if groups == 1 and "conv2d" in x.device.backend.fused and \
            ph <= dilation[0] * (kh - 1) and pw <= dilation[1] * (kw - 1):
        # one direct convolution: the input with stride - 1 zeros between its pixels (an
        # unslice, which the conv's packing pass reads as an expression), zero-padded by
        # the kernel's reach less the padding, convolved with the flipped, transposed kernel
        if stride != (1, 1):
            x = Unslice.apply(x, starts=(0, 0, 0, 0), steps=(1, 1) + stride,
                              shape=(n, cin, (h - 1) * stride[0] + 1, (w - 1) * stride[1] + 1),
                              value=0.0)
        qh, qw = dilation[0] * (kh - 1) - ph, dilation[1] * (kw - 1) - pw
        y = Conv2d.apply(x, weight.flip((2, 3)).transpose(0, 1),
                         *(() if bias is None else (bias,)), stride=(1, 1),
                         pads=(qh, qh + oph, qw, qw + opw), dilation=dilation, groups=1)
        return _out(y, unb)
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


def _as2d_padding(op, padding):
    if isinstance(padding, str):
        return padding
    return (0, _single(padding, "padding", op)[0])


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """conv2d on a height-1 image: (N, C, L) or (C, L) input, (out, in/groups, k) weight."""
    x, unb = _need3d("conv1d", input)
    if weight.ndim != 3:
        raise ValueError(f"conv1d: weight must be 3-D (out, in/groups, k), got shape "
                         f"{tuple(weight.shape)}")
    y = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias,
               (1, _single(stride, "stride", "conv1d")[0]), _as2d_padding("conv1d", padding),
               (1, _single(dilation, "dilation", "conv1d")[0]), groups)
    return _out(y.squeeze(2), unb)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    """conv_transpose2d on a height-1 image: (N, C, L) or (C, L) input, (in, out/groups, k)
    weight."""
    x, unb = _need3d("conv_transpose1d", input)
    if weight.ndim != 3:
        raise ValueError(f"conv_transpose1d: weight must be 3-D (in, out/groups, k), got shape "
                         f"{tuple(weight.shape)}")
    op = "conv_transpose1d"
    y = conv_transpose2d(x.unsqueeze(2), weight.unsqueeze(2), bias,
                         (1, _single(stride, "stride", op)[0]),
                         (0, _single(padding, "padding", op)[0]),
                         (0, _single(output_padding, "output_padding", op)[0]), groups,
                         (1, _single(dilation, "dilation", op)[0]))
    return _out(y.squeeze(2), unb)


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
