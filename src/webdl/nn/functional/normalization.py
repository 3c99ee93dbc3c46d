"""Normalisation layers' functional forms."""
import numbers

from ...autograd import no_grad


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
                running_mean._assign(running_mean * (1 - m) + mu.detach().reshape(c) * m)
                running_var._assign(running_var * (1 - m) +
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
