"""conv2d as one fused op, for backends with a direct convolution kernel
(``shaders/conv2d.glsl`` on WebGL). Its composite form, pad + unfold + matmul in
webdl.nn.functional, is the reference. The backward pass is convolutions again (no
im2col): the input gradient convolves the output gradient with the flipped, transposed
kernel, the weight gradient convolves the input with the output gradient, batch taken as
the channels."""
import numpy as np

from ..autograd import Fused
from .linalg import _windows


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
        from .linalg import Unfold
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
        from ..nn.functional import _conv2d_composite
        return _conv2d_composite(x, w, bias[0] if bias else None, stride, pads, dilation, groups)

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
            return super().backward(grad)
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
