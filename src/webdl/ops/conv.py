"""conv2d as one fused op, for backends with a direct convolution kernel (WebGL's
``conv2d`` kernels). Its composite form, pad + unfold (im2col) + matmul, is ``decompose``:
the reference, and what the numpy backend runs. The backward pass is convolutions again
when it can be: the input gradient convolves the output gradient with the flipped,
transposed kernel, the weight gradient convolves the input with the output gradient, batch
taken as the channels. Grouped convolutions, and input gradients of strided ones (or with
padding past the kernel), differentiate the composite instead, which uses im2col."""
import numpy as np

from .base import Fused, DECOMPOSE
from .linalg import Matmul, Unfold, _windows
from .movement import Unslice


class Conv2d(Fused):
    """x (N, C, H, W), weight (O, C/groups, kh, kw)[, bias (O,)] -> (N, O, Ho, Wo).
    ``pads`` = (top, bottom, left, right) zero padding."""
    name = "conv2d"
    __slots__ = ()

    @classmethod
    def infer(cls, x, w, *bias, stride, pads, dilation, groups):
        n, _, h, wd = x.shape
        o, _, kh, kw = w.shape
        ho = _windows(h + pads[0] + pads[1], kh, dilation[0], stride[0])
        wo = _windows(wd + pads[2] + pads[3], kw, dilation[1], stride[1])
        return (n, o, ho, wo), x.dtype

    @staticmethod
    def ref(x, w, *bias, stride, pads, dilation, groups):
        x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[1]), (pads[2], pads[3])))
        n = x.shape[0]
        o, cg, kh, kw = w.shape
        cols = Unfold.ref(x, (kh, kw), dilation, stride)
        ho = _windows(x.shape[2], kh, dilation[0], stride[0])
        wo = _windows(x.shape[3], kw, dilation[1], stride[1])
        cols = cols.reshape(n, groups, cg * kh * kw, ho * wo)
        y = np.matmul(w.reshape(groups, o // groups, -1), cols).reshape(n, o, ho, wo)
        return y + bias[0].reshape(1, o, 1, 1) if bias else y

    @staticmethod
    def decompose(x, w, *bias, stride, pads, dilation, groups):
        """Zero padding (unslice), unfold (im2col), then one (grouped) matmul."""
        t, b, l, r = pads
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        if t or b or l or r:
            x = Unslice.apply(x, starts=(0, 0, t, l), steps=(1, 1, 1, 1),
                              shape=(n, c, h + t + b, wd + l + r), value=0.0)
        ho = _windows(x.shape[2], kh, dilation[0], stride[0])
        wo = _windows(x.shape[3], kw, dilation[1], stride[1])
        cols = Unfold.apply(x, kernel=(kh, kw), dilation=dilation, stride=stride)
        if groups == 1:
            y = Matmul.apply(w.reshape(o, -1), cols)
        else:
            y = Matmul.apply(w.reshape(groups, o // groups, -1),
                             cols.reshape(n, groups, cg * kh * kw, ho * wo))
        y = y.reshape(n, o, ho, wo)
        return y + bias[0].reshape(1, o, 1, 1) if bias else y

    def backward(self, grad):
        x, w = self.inputs[:2]
        a = self.attrs
        pt, pb, pl, pr = a["pads"]
        (sh, sw), (dh, dw) = a["stride"], a["dilation"]
        o, c, kh, kw = w.shape
        # the input gradient as a convolution needs stride 1 and padding within the kernel
        qt, qb, ql, qr = dh * (kh - 1) - pt, dh * (kh - 1) - pb, dw * (kw - 1) - pl, \
            dw * (kw - 1) - pr
        if a["groups"] != 1 or (x.requires_grad and ((sh, sw) != (1, 1) or
                                                     min(qt, qb, ql, qr) < 0)):
            return DECOMPOSE
        gx = gw = gb = None
        if x.requires_grad:
            wt = w.flip((2, 3)).transpose(0, 1)
            gx = Conv2d.apply(grad, wt, stride=(1, 1), pads=(qt, qb, ql, qr),
                              dilation=(dh, dw), groups=1)
        if w.requires_grad:
            # gw[o, c, i, j] = sum over n, y, x of grad[n, o, y, x] * xpad[n, c, y sh + i dh,
            # x sw + j dw]: x with batch and channels swapped, convolved with grad likewise
            # swapped as the kernel (stride and dilation trade places); rows past the
            # kernel (when the stride skipped the input's last rows) are cut off
            g = Conv2d.apply(x.transpose(0, 1), grad.transpose(0, 1), stride=(dh, dw),
                             pads=(pt, pb, pl, pr), dilation=(sh, sw), groups=1)
            gw = g[:, :, :kh, :kw].transpose(0, 1)
        if len(self.inputs) == 3 and self.inputs[2].requires_grad:
            gb = grad.sum((0, 2, 3))
        return (gx, gw, gb)[:len(self.inputs)]
