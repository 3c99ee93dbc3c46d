"""Elementwise functions: the unary and binary tables of ``webdl.ops.elementwise`` as
public functions and ``Tensor`` methods, the operators, and the rows that take arguments
(``clamp``, ``pow``, ``div(rounding_mode)``, ``add(alpha)``, ``gelu``, ...)."""
import numbers

from .. import dtypes
from ..ops.elementwise import UNARY, BINARY, Cast, Where, broadcast_shapes  # noqa: F401
from ..tensor import Tensor, as_tensor_like
from .common import BOTH, FUNCTION, METHOD, check_tensor, reflected


def _unary(op):
    """The public function of a unary row without parameters."""
    def f(x):
        check_tensor(op.name, x)
        return op.apply(x)
    f.__name__ = f.__qualname__ = op.name
    return f


def _binary(name, a, b):
    """A binary row on tensors or a tensor and a Python number (PyTorch's scalar rules)."""
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(f"{name}: expected at least one Tensor, got {type(a).__name__} and "
                            f"{type(b).__name__}")
        a = as_tensor_like(a, b)
    else:
        b = as_tensor_like(b, a)
    return a._apply(BINARY[name], (a, b), {})   # Op.apply's call, made here (a hot path)


def _binary_fn(name):
    """The public function of a binary row without extra arguments."""
    def f(a, b):
        return _binary(name, a, b)
    f.__name__ = f.__qualname__ = name
    return f


# the rows without parameters, one function each
UNARY_FUNCTIONS = {name: _unary(op) for name, op in UNARY.items() if not op.params}
BINARY_FUNCTIONS = {name: _binary_fn(name) for name in BINARY
                    if name not in ("add", "sub", "div", "pow", "floor_divide")}
# the operators + and - (no alpha): one call less than add and sub
_plus, _minus = _binary_fn("add"), _binary_fn("sub")
maximum, minimum = BINARY_FUNCTIONS["maximum"], BINARY_FUNCTIONS["minimum"]


isfinite, isinf = UNARY_FUNCTIONS["isfinite"], UNARY_FUNCTIONS["isinf"]


def where(cond, a, b):
    """torch.where(cond, a, b): scalars allowed for a and b."""
    ref = next((v for v in (a, b) if isinstance(v, Tensor)), cond)
    a, b = as_tensor_like(a, ref), as_tensor_like(b, ref)
    if cond.dtype is not dtypes.bool_:
        cond = Cast.apply(cond, dtype=dtypes.bool_)
    return Where.apply(cond, a, b)


def add(a, b, alpha=1):
    return _binary("add", a, b if alpha == 1 else b * alpha)


def sub(a, b, alpha=1):
    return _binary("sub", a, b if alpha == 1 else b * alpha)


def div(a, b, rounding_mode=None):
    """True division; with ``rounding_mode`` ('floor' or 'trunc') the result keeps the
    promoted dtype of the inputs, as in PyTorch (ints stay ints)."""
    if rounding_mode not in (None, "floor", "trunc"):
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got "
                         f"{rounding_mode!r}")
    if rounding_mode is not None:
        ref = a if isinstance(a, Tensor) else b
        a, b = as_tensor_like(a, ref), as_tensor_like(b, ref)
        if not dtypes.promote(a.dtype, b.dtype).is_floating_point:   # ints: exact
            q = BINARY["floor_divide"].apply(a, b)
            if rounding_mode == "floor":
                return q
            # trunc: one up where the quotient is inexact and negative
            return q + ((q * b != a) & ((a < 0) != (b < 0)))
    out = _binary("div", a, b)
    if rounding_mode is None:
        return out
    return out.floor() if rounding_mode == "floor" else out.sign() * out.abs().floor()


def true_divide(a, b):
    return div(a, b)


def pow(a, b):  # noqa: A001
    if isinstance(a, Tensor) and isinstance(b, numbers.Real) and not isinstance(b, bool):
        if not a.dtype.is_floating_point and not float(b).is_integer():
            a = a.float()
        if not a.dtype.is_floating_point and b < 0:
            raise ValueError("pow: integers to negative integer powers are not allowed")
        return UNARY["pow_scalar"].apply(a, exponent=b if not a.dtype.is_floating_point
                                         else float(b))
    return _binary("pow", a, b)


def square(x):
    return x * x


def reciprocal(x):
    return 1.0 / x


def clamp(x, min=None, max=None):  # noqa: A002
    check_tensor("clamp", x)
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    if not x.dtype.is_floating_point and any(isinstance(v, float) for v in (min, max)):
        x = x.float()
    return UNARY["clamp"].apply(x, lo=min, hi=max)


clip = clamp


def leaky_relu(x, negative_slope=0.01):
    return UNARY["leaky_relu"].apply(x, slope=float(negative_slope))


def gelu(x, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return UNARY["gelu"].apply(x, approximate=approximate == "tanh")


def softplus(x, beta=1.0, threshold=20.0):
    return UNARY["softplus"].apply(x, beta=float(beta), threshold=float(threshold))


def clamp_min(x, min):  # noqa: A002
    return clamp(x, min=min)


def clamp_max(x, max):  # noqa: A002
    return clamp(x, max=max)


def lerp(x, end, weight):
    return x + (end - x) * weight


def addcmul(x, tensor1, tensor2, value=1):
    return x + tensor1 * tensor2 * value if value != 1 else x + tensor1 * tensor2


def addcdiv(x, tensor1, tensor2, value=1):
    return x + tensor1 / tensor2 * value if value != 1 else x + tensor1 / tensor2


def floor_divide(a, b):
    return div(a, b, rounding_mode="floor")


# float32 values of magnitude 2**23 and more are integers: rounding keeps them (and x + 0.5
# would round there, to even)
_INTEGRAL = 8388608.0


def _integral(x):
    """Whether ``x`` is an integer or bool tensor (rounding keeps its values)."""
    return x.dtype is not dtypes.float32


def round(input, *, decimals=0):  # noqa: A001 - torch.round
    """Round half to even (PyTorch's and numpy's rule); ``decimals``: to that many decimal
    places (as x * 10**decimals rounded, then divided back). One fused elementwise kernel."""
    check_tensor("round", input)
    x = input
    if _integral(x):
        return x.clone()
    if decimals:
        scale = 10.0 ** decimals
        return round(x * scale) / scale
    r = (x + 0.5).floor()
    # a tie (x + 0.5 an integer) rounded up to an odd integer goes down one
    odd_tie = ((r - x) == 0.5).logical_and((r * 0.5).floor() * 2.0 != r)
    return where(x.abs() >= _INTEGRAL, x, r - odd_tie.to(dtypes.float32))


def ceil(input):
    check_tensor("ceil", input)
    return input.clone() if _integral(input) else -(-input).floor()


def trunc(input):
    """Toward zero (``fix`` is its other name)."""
    check_tensor("trunc", input)
    return input.clone() if _integral(input) else where(input < 0, ceil(input), input.floor())


def frac(input):
    check_tensor("frac", input)
    return input - trunc(input)


API = {
    **{name: (f, BOTH) for name, f in UNARY_FUNCTIONS.items()},
    **{name: (f, BOTH) for name, f in BINARY_FUNCTIONS.items()},
    "negative": (UNARY_FUNCTIONS["neg"], BOTH), "absolute": (UNARY_FUNCTIONS["abs"], BOTH),
    "add": (add, BOTH), "sub": (sub, BOTH), "subtract": (sub, BOTH),
    "multiply": (BINARY_FUNCTIONS["mul"], BOTH), "div": (div, BOTH), "divide": (div, BOTH),
    "true_divide": (true_divide, BOTH), "floor_divide": (floor_divide, BOTH),
    "pow": (pow, BOTH), "square": (square, BOTH), "reciprocal": (reciprocal, BOTH),
    "greater": (BINARY_FUNCTIONS["gt"], BOTH), "less": (BINARY_FUNCTIONS["lt"], BOTH),
    "isfinite": (isfinite, BOTH), "isinf": (isinf, BOTH),
    "clamp": (clamp, BOTH), "clip": (clip, BOTH), "clamp_min": (clamp_min, BOTH),
    "clamp_max": (clamp_max, BOTH), "lerp": (lerp, BOTH), "addcmul": (addcmul, BOTH),
    "addcdiv": (addcdiv, BOTH), "round": (round, BOTH), "ceil": (ceil, BOTH),
    "trunc": (trunc, BOTH), "fix": (trunc, BOTH), "frac": (frac, BOTH),
    "where": (where, FUNCTION), "leaky_relu": (leaky_relu, FUNCTION), "gelu": (gelu, FUNCTION),
    "softplus": (softplus, FUNCTION), "broadcast_shapes": (broadcast_shapes, FUNCTION),
    # operators
    "__add__": (_plus, METHOD), "__radd__": (reflected(_plus), METHOD),
    "__sub__": (_minus, METHOD), "__rsub__": (reflected(_minus), METHOD),
    "__mul__": (BINARY_FUNCTIONS["mul"], METHOD),
    "__rmul__": (reflected(BINARY_FUNCTIONS["mul"]), METHOD),
    "__truediv__": (div, METHOD), "__rtruediv__": (reflected(div), METHOD),
    "__floordiv__": (floor_divide, METHOD), "__rfloordiv__": (reflected(floor_divide), METHOD),
    "__pow__": (pow, METHOD), "__rpow__": (reflected(pow), METHOD),
    "__neg__": (UNARY_FUNCTIONS["neg"], METHOD), "__abs__": (UNARY_FUNCTIONS["abs"], METHOD),
    **{f"__{name}__": (BINARY_FUNCTIONS[name], METHOD)
       for name in ("eq", "ne", "lt", "le", "gt", "ge")},
    "__and__": (BINARY_FUNCTIONS["logical_and"], METHOD),
    "__or__": (BINARY_FUNCTIONS["logical_or"], METHOD),
    "__xor__": (BINARY_FUNCTIONS["logical_xor"], METHOD),
    "__invert__": (UNARY_FUNCTIONS["logical_not"], METHOD),
}
