"""Weight initialisation with PyTorch's formulas (gains, fans, bounds). Values are drawn on
the host from webdl's random state (or a ``webdl.Generator``) and uploaded, so every
backend gets the same weights for the same seed; the distributions are PyTorch's, the
random numbers are webdl's own."""
import functools
import math
import warnings

import numpy as np

from ..autograd import no_grad
from .. import random as _random
from ..tensor import tensor as _tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_"]


class skipped:
    """Inside it the init functions leave their tensor as it is and draw nothing
    (``webdl.nn.utils.skip_init`` makes a module in one)."""
    active = False

    def __enter__(self):
        self._prev, skipped.active = skipped.active, True

    def __exit__(self, *exc):
        skipped.active = self._prev
        return False


def _skippable(fn):
    @functools.wraps(fn)
    def init(tensor, *args, **kwargs):
        return tensor if skipped.active else fn(tensor, *args, **kwargs)
    return init


def _fill(t, arr):
    """Give ``t`` the values ``arr`` (the one place init writes a tensor)."""
    with no_grad():
        t.copy_(_tensor(np.asarray(arr, dtype=np.float32).reshape(t.shape), device=t.device))
    return t


def _uniform(shape, generator):
    return _random.generator(generator).random(tuple(shape))


def _normal(shape, generator):
    return _random.generator(generator).standard_normal(tuple(shape))


def _empty(t):
    if 0 in tuple(t.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


# --- gains and fans ---------------------------------------------------------------------------
_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for ``nonlinearity`` (PyTorch's table)."""
    if nonlinearity in _LINEAR:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(t):
    if t.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions (shape {tuple(t.shape)})")
    field = 1
    for d in t.shape[2:]:
        field *= d
    return t.shape[1] * field, t.shape[0] * field


_fans = _calculate_fan_in_and_fan_out      # the name nn.layers uses


def _calculate_correct_fan(t, mode):
    mode = mode.lower()
    valid = ["fan_in", "fan_out"]
    if mode not in valid:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(t)
    return fan_in if mode == "fan_in" else fan_out


# --- distributions --------------------------------------------------------------------------
@_skippable
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Values from U(a, b)."""
    return _fill(tensor, a + (b - a) * _uniform(tensor.shape, generator))


@_skippable
def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Values from N(mean, std^2)."""
    return _fill(tensor, mean + std * _normal(tensor.shape, generator))


# Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9)
_QA = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
       1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_QB = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
       6.680131188771972e+01, -1.328068155288572e+01)
_QC = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
       -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_QD = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
       3.754408661907416e+00)


def _poly(coefs, x):
    out = np.zeros_like(x)
    for c in coefs:
        out = out * x + c
    return out


def _ndtri(p):
    """The standard normal quantile of probabilities ``p`` in (0, 1) (float64 arrays)."""
    p = np.asarray(p, dtype=np.float64)
    x = np.empty_like(p)
    lo, hi = p < 0.02425, p > 1 - 0.02425
    mid = ~(lo | hi)
    q = p[mid] - 0.5
    r = q * q
    x[mid] = _poly(_QA, r) * q / (_poly(_QB, r) * r + 1)
    q = np.sqrt(-2 * np.log(p[lo]))
    x[lo] = _poly(_QC, q) / (_poly(_QD, q) * q + 1)
    q = np.sqrt(-2 * np.log1p(-p[hi]))
    x[hi] = -_poly(_QC, q) / (_poly(_QD, q) * q + 1)
    return x


def _ndtr(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@_skippable
def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Values from N(mean, std^2) truncated to [a, b] (``a``, ``b`` are absolute bounds), by
    the inverse CDF: exact in the tails too."""
    if not a <= b:
        raise ValueError(f"trunc_normal_: the lower bound a={a} is above b={b}")
    lo, hi = (a - mean) / std, (b - mean) / std
    flip = lo > 0                       # keep the CDF values small, where they are precise
    if flip:
        lo, hi = -hi, -lo
    u = _uniform(tensor.shape, generator)
    plo, phi = _ndtr(lo), _ndtr(hi)
    p = np.clip(plo + (phi - plo) * u, np.finfo(np.float64).tiny, 1 - 2 ** -53)
    z = _ndtri(p)
    if flip:
        z = -z
    return _fill(tensor, np.clip(mean + std * z, a, b))


@_skippable
def constant_(tensor, val):
    return _fill(tensor, np.full(tuple(tensor.shape), val, dtype=np.float64))


@_skippable
def ones_(tensor):
    return constant_(tensor, 1.0)


@_skippable
def zeros_(tensor):
    return constant_(tensor, 0.0)


@_skippable
def eye_(tensor):
    """The identity matrix (2-D tensors)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor.shape))


@_skippable
def dirac_(tensor, groups=1):
    """The Dirac delta of a convolution kernel (3-, 4- or 5-D): each group's first input
    channels pass through unchanged."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    shape = tuple(tensor.shape)
    if shape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = shape[0] // groups
    arr = np.zeros(shape)
    centre = tuple(s // 2 for s in shape[2:])
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            arr[(g * per_group + d, d) + centre] = 1
    return _fill(tensor, arr)


@_skippable
def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


@_skippable
def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


@_skippable
def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu",
                     generator=None):
    """He uniform: U(-bound, bound), bound = gain * sqrt(3 / fan)."""
    if _empty(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


@_skippable
def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu",
                    generator=None):
    """He normal: N(0, std^2), std = gain / sqrt(fan)."""
    if _empty(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


@_skippable
def orthogonal_(tensor, gain=1, generator=None):
    """A (semi-)orthogonal matrix, uniformly distributed (QR of a Gaussian matrix with the
    signs of R's diagonal taken out), times ``gain``; dims past the first are flattened."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _normal((rows, cols), generator)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, q * gain)


@_skippable
def sparse_(tensor, sparsity, std=0.01, generator=None):
    """N(0, std^2) values with a fraction ``sparsity`` of each column set to zero."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    zeros = math.ceil(sparsity * rows)
    arr = std * _normal((rows, cols), generator)
    gen = _random.generator(generator)
    for c in range(cols):
        arr[gen.permutation(rows)[:zeros], c] = 0
    return _fill(tensor, arr)


def _deprecated(fn):
    new = fn.__name__
    old = new[:-1]

    @functools.wraps(fn)
    def alias(*args, **kwargs):
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new}`.",
                      FutureWarning, stacklevel=2)
        return fn(*args, **kwargs)
    alias.__name__ = old
    return alias


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
