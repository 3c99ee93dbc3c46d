"""layer_norm and its input gradient as fused ops (see ``base.Fused``): a backend with row
statistics kernels (WebGL) runs each as one pass over the rows plus an elementwise chain
that fuses into its consumer; the others run ``decompose`` (the composite: two means, a
centring, an rsqrt), which is also the reference. The normalized dims are the last ``k``;
``weight`` and ``bias`` say whether those inputs follow ``x``."""
import numpy as np

from .base import Fused


def _axes(x, k):
    return tuple(range(x.ndim - k, x.ndim))


def _ref_stats(x, k, eps):
    """numpy: x - mean and 1 / sqrt(var + eps) over the last ``k`` dims."""
    axes = _axes(x, k)
    d = x - x.mean(axis=axes, keepdims=True)
    return d, 1.0 / np.sqrt((d * d).mean(axis=axes, keepdims=True) + np.float32(eps))


def _stats(x, k, eps):
    """Tensors: x - mean and 1 / sqrt(var + eps) over the last ``k`` dims."""
    axes = _axes(x, k)
    d = x - x.mean(axes, keepdim=True)
    return d, ((d * d).mean(axes, keepdim=True) + eps).rsqrt()


class LayerNorm(Fused):
    """(x - mean) / sqrt(var + eps) over the last ``k`` dims (the biased variance), times
    the weight and plus the bias when given."""
    name = "layer_norm"
    saves = (0, 1)      # x and the weight (absent without one); not the output
    __slots__ = ()

    @classmethod
    def infer(cls, x, *wb, k, eps, weight, bias):
        if not x.dtype.is_floating_point:
            raise TypeError(f"layer_norm: expected a floating point input, got {x.dtype}")
        return tuple(x.shape), x.dtype

    @staticmethod
    def ref(x, *wb, k, eps, weight, bias):
        d, r = _ref_stats(x, k, eps)
        y = d * r
        if weight:
            y = y * wb[0]
        if bias:
            y = y + wb[-1]
        return y.astype(x.dtype)

    @staticmethod
    def decompose(x, *wb, k, eps, weight, bias):
        d, r = _stats(x, k, eps)
        y = d * r
        if weight:
            y = y * wb[0]
        if bias:
            y = y + wb[-1]
        return y

    def backward(self, g):
        x = self.inputs[0]
        a = self.attrs
        k, eps = a["k"], a["eps"]
        w = self.inputs[1] if a["weight"] else None
        gx = gw = gb = None
        if x.requires_grad:
            gx = LayerNormBackward.apply(g, x, *(() if w is None else (w,)), k=k, eps=eps,
                                         weight=w is not None)
        if w is not None and w.requires_grad:
            xhat = LayerNorm.apply(x, k=k, eps=eps, weight=False, bias=False)
            gw = (g * xhat).sum(tuple(range(x.ndim - k))) if x.ndim > k else g * xhat
        if a["bias"] and self.inputs[-1].requires_grad:
            gb = g.sum(tuple(range(x.ndim - k))) if x.ndim > k else g
        return (gx,) + ((gw,) if a["weight"] else ()) + ((gb,) if a["bias"] else ())


class LayerNormBackward(Fused):
    """The gradient of :class:`LayerNorm` with respect to x, given the output's gradient
    ``g`` (and the weight when there is one): rstd * (gw - mean(gw) - xhat * mean(gw *
    xhat)), gw = g * weight, the means over the last ``k`` dims."""
    name = "layer_norm_backward"
    differentiable = False      # backward passes run without recording (no create_graph)
    saves = ()
    __slots__ = ()

    @classmethod
    def infer(cls, g, x, *w, k, eps, weight):
        if tuple(g.shape) != tuple(x.shape):
            raise ValueError(f"layer_norm_backward: gradient {tuple(g.shape)} and input "
                             f"{tuple(x.shape)} differ in shape")
        return tuple(x.shape), x.dtype

    @staticmethod
    def ref(g, x, *w, k, eps, weight):
        d, r = _ref_stats(x, k, eps)
        xhat, axes = d * r, _axes(x, k)
        gw = g * w[0] if weight else g
        out = r * (gw - gw.mean(axis=axes, keepdims=True)
                   - xhat * (gw * xhat).mean(axis=axes, keepdims=True))
        return out.astype(x.dtype)

    @staticmethod
    def decompose(g, x, *w, k, eps, weight):
        d, r = _stats(x, k, eps)
        xhat, axes = d * r, _axes(x, k)
        gw = g * w[0] if weight else g
        return r * (gw - gw.mean(axes, keepdim=True)
                    - xhat * (gw * xhat).mean(axes, keepdim=True))
