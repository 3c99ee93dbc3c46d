"""layer_norm and its input gradient, and batch norm's per-channel statistics, as fused ops (see ``base.Fused``): a backend with row
statistics kernels (WebGL) runs each as one pass over the rows plus an elementwise chain
that fuses into its consumer; the others run ``decompose`` (the composite: two means, a
centring, an rsqrt), which is also the reference. The normalized dims are the last ``k``;
``weight`` and ``bias`` say whether those inputs follow ``x``."""
import numpy as np

from .base import Fused
from .movement import Cat


def _axes(x, k):
    return tuple(range(x.ndim - k, x.ndim))


# One formula for both forms: numpy arrays (``ref``) and tensors (``decompose``) differ only
# in how they take a mean over the normalized dims and a reciprocal square root.
def _np_mean(x, k):
    return lambda t: t.mean(axis=_axes(x, k), keepdims=True)


def _t_mean(x, k):
    return lambda t: t.mean(_axes(x, k), keepdim=True)


def _np_rsqrt(t):
    return 1.0 / np.sqrt(t)


def _t_rsqrt(t):
    return t.rsqrt()


def _normalized(x, wb, eps, weight, bias, mean, rsqrt):
    """(x - mean) / sqrt(var + eps), times the weight, plus the bias."""
    d = x - mean(x)
    y = d * rsqrt(mean(d * d) + eps)
    if weight:
        y = y * wb[0]
    if bias:
        y = y + wb[-1]
    return y


def _input_grad(g, x, w, eps, weight, mean, rsqrt):
    """rstd * (gw - mean(gw) - xhat * mean(gw * xhat)), gw = g * weight."""
    d = x - mean(x)
    r = rsqrt(mean(d * d) + eps)
    xhat = d * r
    gw = g * w[0] if weight else g
    return r * (gw - mean(gw) - xhat * mean(gw * xhat))


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
        return _normalized(x, wb, np.float32(eps), weight, bias, _np_mean(x, k),
                           _np_rsqrt).astype(x.dtype)

    @staticmethod
    def decompose(x, *wb, k, eps, weight, bias):
        return _normalized(x, wb, eps, weight, bias, _t_mean(x, k), _t_rsqrt)

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
            # xhat again: its row statistics are one more pass (a fused op has one output,
            # and layer_norm_backward's statistics end in x's gradient)
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
        return _input_grad(g, x, w, np.float32(eps), weight, _np_mean(x, k),
                           _np_rsqrt).astype(x.dtype)

    @staticmethod
    def decompose(g, x, *w, k, eps, weight):
        return _input_grad(g, x, w, eps, weight, _t_mean(x, k), _t_rsqrt)


# --- batch norm's per-channel statistics ------------------------------------------------------
def _channel_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _channel_stats(x, g, eps, mean, rsqrt, stack):
    """Per channel (dim 1) over the other dims: [mean, rstd, var] (the biased variance), or
    with ``g`` [mean, rstd, mean(g), mean(g * xhat)], xhat = (x - mean) * rstd; ``mean``
    keeps the dims, ``stack`` makes the (k, C) result of the (1, C, 1...) rows."""
    m = mean(x)
    d = x - m
    var = mean(d * d)
    r = rsqrt(var + eps)
    if g is None:
        return stack([m, r, var])
    return stack([m, r, mean(g), mean(g * (d * r))])


class NormStats(Fused):
    """Batch norm's statistics of ``x`` (N, C, ...) per channel, over every other dim, as a
    (3, C) tensor: mean, rstd = 1 / sqrt(var + eps), var (biased); with ``grad`` (inputs
    ``g``, ``x``: the output's gradient first) a (4, C) tensor: mean, rstd, mean(g),
    mean(g * xhat) -- what the input, weight and bias gradients are made of. A backend with
    the row statistics kernel (WebGL, WebGPU) reads x (and g) once for all of them."""
    name = "norm_stats"
    differentiable = False      # statistics for batch norm's own forward and backward rules
    saves = ()
    __slots__ = ()

    @classmethod
    def infer(cls, *xs, eps, grad):
        x = xs[-1]
        if x.ndim < 2 or not x.dtype.is_floating_point:
            raise TypeError(f"norm_stats: expected a floating point (N, C, ...) input, got "
                            f"{x.dtype} {tuple(x.shape)}")
        if grad and tuple(xs[0].shape) != tuple(x.shape):
            raise ValueError(f"norm_stats: gradient {tuple(xs[0].shape)} and input "
                             f"{tuple(x.shape)} differ in shape")
        return (4 if grad else 3, x.shape[1]), x.dtype

    @staticmethod
    def ref(*xs, eps, grad):
        x = xs[-1]
        return _channel_stats(
            x, xs[0] if grad else None, np.float32(eps),
            lambda t: t.mean(axis=_channel_axes(x), keepdims=True), _np_rsqrt,
            lambda rows: np.stack([r.reshape(-1) for r in rows])).astype(x.dtype)

    @staticmethod
    def decompose(*xs, eps, grad):
        x = xs[-1]
        return _channel_stats(x, xs[0] if grad else None, eps,
                              lambda t: t.mean(_channel_axes(x), keepdim=True), _t_rsqrt,
                              lambda rows: Cat.apply(*[r.reshape(1, -1) for r in rows],
                                                     axis=0))
