"""Normalisation layers' functional forms."""
import numbers

import numpy as np

from ...autograd import _record, no_grad
from ...ops.base import Op
from ...ops.norm import LayerNorm, NormStats


def _trailing(op, x, normalized_shape):
    """``normalized_shape`` as a tuple and its length, checked against x's trailing dims."""
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(x.shape[x.ndim - k:]) != normalized_shape:
        raise ValueError(f"{op}: input shape {tuple(x.shape)} doesn't end with "
                         f"normalized_shape {normalized_shape}")
    return normalized_shape, k


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    x = input
    normalized_shape, k = _trailing("layer_norm", x, normalized_shape)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != normalized_shape:
            raise ValueError(f"layer_norm: {name} shape {tuple(t.shape)} should be "
                             f"{normalized_shape}")
    wb = tuple(t for t in (weight, bias) if t is not None)
    attrs = dict(k=k, eps=float(eps), weight=weight is not None, bias=bias is not None)
    if x.dtype.is_floating_point and "layer_norm" in x.device.backend.fused:
        return LayerNorm.apply(x, *wb, **attrs)     # row statistics, then a fused chain
    return LayerNorm.decompose(x, *wb, **attrs)


def batch_norm(input, running_mean, running_var, weight=None, bias=None,  # noqa: A002
               training=False, momentum=0.1, eps=1e-5):
    x = input
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
        if x.dtype.is_floating_point and "norm_stats" in x.device.backend.fused:
            return _batch_norm_batch_stats(x, running_mean, running_var, weight, bias,
                                           training, momentum, eps, n, shape)
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


class BatchNormBatchStats(Op):
    """Batch norm with the batch's statistics, as one graph node: y = (x - mean) * rstd
    [* weight] [+ bias], mean and rstd per channel from ``ops.NormStats`` (one pass over x
    where the backend has the kernel). Its backward reads g and x once more (NormStats with
    ``grad``) and makes the input, weight and bias gradients of those four rows alone:
    dx = rstd * w * (g - mean(g) - xhat * mean(g xhat)), dw = m * mean(g xhat), db = m *
    mean(g), m the values per channel -- where the composite's backward took about twenty
    passes."""
    name = "batch_norm_batch_stats"
    saves = (0, 1)      # x and the weight (absent without one)
    __slots__ = ()

    def backward(self, g):
        x = self.inputs[0]
        a = self.attrs
        w = self.inputs[1] if a["weight"] else None
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        st = NormStats.apply(g, x, eps=a["eps"], grad=True)
        gx = gw = gb = None
        if x.requires_grad:
            mean, rstd, ga, gc = (st[i].reshape(shape) for i in range(4))
            gx = (g - ga - (x - mean) * rstd * gc) * rstd
            if w is not None:
                gx = gx * w.reshape(shape)
        m = float(x.numel() // x.shape[1])
        if w is not None and w.requires_grad:
            gw = st[3] * m
        if a["bias"] and self.inputs[-1].requires_grad:
            gb = st[2] * m
        return (gx,) + ((gw,) if a["weight"] else ()) + ((gb,) if a["bias"] else ())


def _batch_norm_batch_stats(x, running_mean, running_var, weight, bias, training, momentum,
                            eps, n, shape):
    """batch_norm with the batch's statistics on a backend with ``norm_stats``: one pass for
    the mean, rstd and variance of every channel, the running statistics updated from them,
    the output an elementwise chain (BatchNormBatchStats for autograd)."""
    with no_grad():
        st = NormStats.apply(x, eps=float(eps), grad=False)
        if training and running_mean is not None:
            m = 0.1 if momentum is None else momentum
            running_mean.copy_(running_mean * (1 - m) + st[0] * m)
            running_var.copy_(running_var * (1 - m) + st[2] * (m * n / (n - 1)))
        y = (x - st[0].reshape(shape)) * st[1].reshape(shape)
        if weight is not None:
            y = y * weight.reshape(shape)
        if bias is not None:
            y = y + bias.reshape(shape)
    inputs = (x,) + tuple(t for t in (weight, bias) if t is not None)
    return _record(BatchNormBatchStats, inputs, {"eps": float(eps), "weight": weight is not None,
                                                 "bias": bias is not None}, y, keep_out=False)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002
    x = input
    if x.ndim < 2:
        raise ValueError(f"group_norm: expected an input of at least 2 dims (N, C, ...), got "
                         f"shape {tuple(x.shape)}")
    n, c = x.shape[:2]
    if num_groups < 1 or c % num_groups:
        raise ValueError(f"group_norm: expected number of channels in input to be divisible by "
                         f"num_groups, but got input of shape {tuple(x.shape)} and "
                         f"num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"group_norm: {name} shape {tuple(t.shape)} should be ({c},)")
    xg = x.reshape(n, num_groups, -1)
    d = xg - xg.mean(2, keepdim=True)
    y = (d * ((d * d).mean(2, keepdim=True) + eps).rsqrt()).reshape(x.shape)
    return _channel_affine(y, weight, bias)


def _channel_affine(y, weight, bias):
    shape = (1, y.shape[1]) + (1,) * (y.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,  # noqa: A002
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Per-sample, per-channel normalisation of (N, C, *) input. With use_input_stats and
    running stats, these are updated as PyTorch does: by the batch mean of the per-instance
    means and of the per-instance unbiased variances."""
    x = input
    if x.ndim < 2:
        raise ValueError(f"instance_norm: expected an input of at least 2 dims (N, C, ...), got "
                         f"shape {tuple(x.shape)}")
    n, c = x.shape[:2]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"instance_norm: {name} shape {tuple(t.shape)} should be ({c},) for "
                             f"input shape {tuple(x.shape)}")
    shape = (1, c) + (1,) * (x.ndim - 2)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: running_mean and running_var must be given when "
                             "use_input_stats is False")
        y = (x - running_mean.reshape(shape)) * (running_var.reshape(shape) + eps).rsqrt()
        return _channel_affine(y, weight, bias)
    count = x.numel() // max(n * c, 1)
    if count <= 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element when training, "
                         f"got input size {list(x.shape)}")
    axes = tuple(range(2, x.ndim))
    mu = x.mean(axes, keepdim=True)
    d = x - mu
    var = (d * d).mean(axes, keepdim=True)
    if running_mean is not None or running_var is not None:
        with no_grad():
            if running_mean is not None:
                running_mean.copy_(running_mean * (1 - momentum) +
                                   mu.detach().reshape(n, c).mean(0) * momentum)
            if running_var is not None:
                running_var.copy_(running_var * (1 - momentum) +
                                  var.detach().reshape(n, c).mean(0) *
                                  (momentum * count / (count - 1)))
    return _channel_affine(d * (var + eps).rsqrt(), weight, bias)


def rms_norm(input, normalized_shape, weight=None, eps=None):  # noqa: A002
    """x / sqrt(mean(x^2) + eps) over the trailing normalized_shape dims; eps=None is the
    float32 machine epsilon, as in PyTorch."""
    x = input
    normalized_shape, k = _trailing("rms_norm", x, normalized_shape)
    if weight is not None and tuple(weight.shape) != normalized_shape:
        raise ValueError(f"rms_norm: weight shape {tuple(weight.shape)} should be "
                         f"{normalized_shape}")
    eps = float(np.finfo(np.float32).eps) if eps is None else eps
    axes = tuple(range(x.ndim - k, x.ndim))
    y = x * ((x * x).mean(axes, keepdim=True) + eps).rsqrt()
    return y * weight if weight is not None else y


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002
    x = input
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported")
    n = (x.abs().pow(p)).sum(dim, keepdim=True).pow(1.0 / p)
    return x / n.clamp(min=eps)
