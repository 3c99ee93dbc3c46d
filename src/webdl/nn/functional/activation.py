"""Activations, each a composite of elementwise ops (fused into one kernel on WebGL).

``inplace=True`` is accepted wherever PyTorch accepts it and computed out of place: the
result is the returned tensor, the input keeps its values (webdl has no in-place autograd).
"""
from ...functions import elementwise as _ew
from ...functions.elementwise import UNARY_FUNCTIONS, where
from ...functions.reduction import softmax as _softmax, log_softmax as _log_softmax
from ...ops.reduce import norm_dim

sigmoid, tanh = UNARY_FUNCTIONS["sigmoid"], UNARY_FUNCTIONS["tanh"]
_relu = UNARY_FUNCTIONS["relu"]

# torch.nn.functional.selu's constants
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def relu(input, inplace=False):  # noqa: A002
    return _relu(input)


def relu6(input, inplace=False):  # noqa: A002
    return input.clamp(0.0, 6.0)


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
    return _ew.leaky_relu(input, negative_slope)


def gelu(input, approximate="none"):  # noqa: A002
    return _ew.gelu(input, approximate)


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    return _ew.softplus(input, beta, threshold)


def silu(input, inplace=False):  # noqa: A002
    return input * input.sigmoid()


def mish(input, inplace=False):  # noqa: A002
    return input * _ew.softplus(input).tanh()


def hardsigmoid(input, inplace=False):  # noqa: A002
    return (input + 3.0).clamp(0.0, 6.0) / 6.0


def hardswish(input, inplace=False):  # noqa: A002
    return input * (input + 3.0).clamp(0.0, 6.0) / 6.0


def _elu(x, alpha, scale=1.0, input_scale=1.0):
    """PyTorch's elu family: x > 0 ? scale*x : scale*alpha*(exp(input_scale*x) - 1)."""
    neg = (x.clamp(max=0.0) * input_scale).exp() - 1.0 if input_scale != 1.0 else \
        x.clamp(max=0.0).exp() - 1.0
    if scale == 1.0:
        return where(x > 0, x, neg * alpha)
    return where(x > 0, x * scale, neg * (alpha * scale))


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    return _elu(input, alpha)


def selu(input, inplace=False):  # noqa: A002
    return _elu(input, _SELU_ALPHA, _SELU_SCALE)


def celu(input, alpha=1.0, inplace=False):  # noqa: A002
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    return _elu(input, alpha, 1.0, 1.0 / alpha)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):  # noqa: A002
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} can't be greater than max_val {max_val}")
    return input.clamp(min_val, max_val)


def threshold(input, threshold, value, inplace=False):  # noqa: A002
    return where(input <= threshold, float(value), input)


def hardshrink(input, lambd=0.5):  # noqa: A002
    return where((input >= -lambd) & (input <= lambd), 0.0, input)


def softshrink(input, lambd=0.5):  # noqa: A002
    if lambd < 0:
        raise ValueError(f"softshrink: lambda must be non-negative, got {lambd}")
    # the middle is input * 0, as in PyTorch: NaN stays NaN
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, input * 0.0))


def softsign(input):  # noqa: A002
    return input / (input.abs() + 1.0)


def tanhshrink(input):  # noqa: A002
    return input - input.tanh()


def logsigmoid(input):  # noqa: A002
    return -_ew.softplus(-input)


def prelu(input, weight):  # noqa: A002
    x = input
    if weight.numel() != 1 and (x.ndim < 2 or weight.numel() != x.shape[1]):
        raise ValueError(f"prelu: weight has {weight.numel()} elements but input has "
                         f"{x.shape[1] if x.ndim > 1 else 1} channels")
    w = weight.reshape((1, -1) + (1,) * (x.ndim - 2)) if weight.numel() != 1 and x.ndim > 1 \
        else weight.reshape(())
    return where(x > 0, x, x * w)


def glu(input, dim=-1):  # noqa: A002
    if input.ndim == 0:
        raise ValueError("glu: does not support scalars because halving size must be even")
    d = norm_dim("glu", dim, input.ndim)
    n = input.shape[d]
    if n % 2:
        raise ValueError(f"glu: halving dimension must be even, but dimension {d} is size {n}")
    a, b = input.narrow(d, 0, n // 2), input.narrow(d, n // 2, n // 2)
    return a * b.sigmoid()


def _softmax_dim(ndim):
    """PyTorch's implicit softmax dim (deprecated there, with a warning)."""
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    return _softmax(input, _softmax_dim(input.ndim) if dim is None else dim, dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    if dtype is not None:
        input = input.to(dtype)
    return _softmax(-input, _softmax_dim(input.ndim) if dim is None else dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    return _log_softmax(input, _softmax_dim(input.ndim) if dim is None else dim, dtype)
