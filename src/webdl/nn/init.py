"""Weight initialisation (PyTorch's formulas). Values are drawn on the host from webdl's
random state and uploaded, so every backend gets the same weights for the same seed."""
import math

import numpy as np

from ..autograd import no_grad
from .. import random as _random
from ..tensor import tensor


def _fill(t, arr):
    with no_grad():
        t.copy_(tensor(np.asarray(arr, dtype=np.float32).reshape(t.shape), device=t.device))
    return t


def _fans(t):
    if t.ndim < 2:
        raise ValueError(f"init: fan in and fan out can't be computed for a tensor with fewer "
                         f"than 2 dims (shape {tuple(t.shape)})")
    rf = 1
    for d in t.shape[2:]:
        rf *= d
    return t.shape[1] * rf, t.shape[0] * rf


def calculate_gain(nonlinearity, param=None):
    if nonlinearity in ("linear", "conv2d", "sigmoid", "conv_transpose2d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def uniform_(t, a=0.0, b=1.0, generator=None):
    return _fill(t, _random.generator(generator).uniform(a, b, size=t.shape))


def normal_(t, mean=0.0, std=1.0, generator=None):
    return _fill(t, _random.generator(generator).normal(mean, std, size=t.shape))


def constant_(t, val):
    return _fill(t, np.full(t.shape, val))


def zeros_(t):
    return constant_(t, 0.0)


def ones_(t):
    return constant_(t, 1.0)


def _fan(t, mode):
    fan_in, fan_out = _fans(t)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(t, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(t, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(t, -bound, bound, generator)


def kaiming_normal_(t, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(t, mode))
    return normal_(t, 0.0, std, generator)


def xavier_uniform_(t, gain=1.0, generator=None):
    fan_in, fan_out = _fans(t)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a, generator)


def xavier_normal_(t, gain=1.0, generator=None):
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)
