"""conv2d as one fused op, for backends with a direct convolution kernel
(``shaders/conv2d.glsl`` on WebGL). Its composite form, pad + unfold + matmul in
webdl.nn.functional, is the reference and gives the backward pass."""
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
