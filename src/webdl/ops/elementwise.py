"""Elementwise primitives: unary, binary (with broadcasting), where and cast.

Each op is one row here: its name, numpy reference, backward rule and flags. The public
function and ``Tensor`` method of a row without parameters come from this table
(``webdl.functions.elementwise``); its GLSL is the function ``op_<name>`` in
``shaders/elementwise.glsl`` (the WebGL backend fuses chains of these ops into one shader).
"""
import math

import numpy as np

from .base import Op
from .. import dtypes


def broadcast_shapes(op, *shapes):
    first = shapes[0]
    if len(shapes) == 2:                # the common cases first: equal shapes, a scalar
        second = shapes[1]
        if second == first or not second:
            return first if isinstance(first, tuple) else tuple(first)
        if not first:
            return second if isinstance(second, tuple) else tuple(second)
    elif all(s == first for s in shapes):
        return first if isinstance(first, tuple) else tuple(first)
    nd = max(len(s) for s in shapes)
    out = []
    for i in range(nd):
        size = 1
        for s in shapes:
            d = s[i - nd + len(s)] if i - nd + len(s) >= 0 else 1
            if d != 1:
                if size != 1 and size != d:
                    pretty = " and ".join(str(tuple(s)) for s in shapes)
                    raise ValueError(f"{op}: shapes {pretty} are not broadcastable "
                                     f"(dim {i - nd}: {size} vs {d})")
                size = d
        out.append(size)
    return tuple(out)


def unbroadcast(g, shape):
    """Sum a broadcast gradient back down to ``shape``."""
    shape = tuple(shape)
    if tuple(g.shape) == shape:
        return g
    lead = g.ndim - len(shape)
    inner = tuple(i + lead for i, d in enumerate(shape) if d == 1 and g.shape[i + lead] != 1)
    if not inner:       # only leading dims (a bias's gradient): one sum, no reshape after
        return g.sum(dim=tuple(range(lead))) if lead else g.reshape(shape)
    return g.sum(dim=tuple(range(lead)) + inner, keepdim=True).reshape(shape)


# --- erf, shared by erf and gelu -------------------------------------------------------
def _erfc(z):
    """Complementary error function, fractional error < 1.2e-7 (Numerical Recipes)."""
    z = np.asarray(z, dtype=np.float64)
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.5 * a)
    poly = -a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    r = t * np.exp(poly)
    return np.where(z >= 0, r, 2.0 - r)


_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_C = math.sqrt(2.0 / math.pi)


# --- unary ---------------------------------------------------------------------------
class Unary(Op):
    """One input, same shape. ``int_ok``: ints stay ints (else the result is float32);
    ``params``: the names of its scalar attributes (passed to the GLSL function)."""
    elementwise = True
    int_ok = False
    bool_out = False
    params = ()

    @classmethod
    def infer(cls, x, **attrs):
        if cls.bool_out:
            return x.shape, dtypes.bool_
        if x.dtype.is_floating_point or cls.int_ok:
            return x.shape, (x.dtype if x.dtype is not dtypes.bool_ else dtypes.int64)
        return x.shape, dtypes.float32

    def backward(self, g):
        return (self.grad_rule(self, self.inputs[0], g),)


UNARY = {}


def _unary(name, ref, grad=None, int_ok=False, params=(), bool_out=False, saves=(0,)):
    """One row of the unary table: a differentiable op when ``grad(ctx, x, g)`` is given;
    ``saves``: what ``grad`` reads (the input 0 and/or ``"out"``)."""
    cls = type(name.title().replace("_", ""), (Unary,), {
        "name": name, "ref": staticmethod(ref), "int_ok": int_ok, "params": params,
        "bool_out": bool_out, "saves": saves,
        "grad_rule": staticmethod(grad) if grad else None,
        "differentiable": grad is not None, "__slots__": ()})
    UNARY[name] = cls
    return cls


def _gelu_ref(x, approximate):
    x64 = x.astype(np.float64)
    if approximate:
        y = 0.5 * x64 * (1.0 + np.tanh(_GELU_C * (x64 + 0.044715 * x64 ** 3)))
    else:
        y = 0.5 * x64 * _erfc(-x64 * _SQRT1_2)
    return np.where(np.isinf(x64), np.nan, y)   # gelu(+-inf) is NaN in PyTorch


def _gelu_grad(c, x, g):
    if c.attrs["approximate"]:
        inner = (x + x * x * x * 0.044715) * _GELU_C
        th = inner.tanh()
        dinner = (x * x * (3 * 0.044715) + 1.0) * _GELU_C
        return g * ((th + 1.0) * 0.5 + x * 0.5 * (1.0 - th * th) * dinner)
    cdf = (erf.apply(x * _SQRT1_2) + 1.0) * 0.5
    pdf = (x * x * -0.5).exp() * _INV_SQRT_2PI
    return g * (cdf + x * pdf)


def _softplus_ref(x, beta, threshold):
    bx = x.astype(np.float64) * beta
    return np.where(bx > threshold, x, np.log1p(np.exp(np.minimum(bx, threshold))) / beta)


def _softplus_grad(c, x, g):
    bx = x * c.attrs["beta"]
    return g * Where.apply(bx > c.attrs["threshold"], bx.new_ones(()), bx.sigmoid())


def _clamp_ref(x, lo, hi):
    y = x
    if lo is not None:
        y = np.where(x < lo, np.asarray(lo, x.dtype), y)  # NaN stays NaN, as in PyTorch
    if hi is not None:
        y = np.where(x > hi, np.asarray(hi, x.dtype), y)
    return y


def _clamp_grad(c, x, g):
    lo, hi = c.attrs["lo"], c.attrs["hi"]
    m = None
    if lo is not None:
        m = x >= lo
    if hi is not None:
        m2 = x <= hi
        m = m2 if m is None else m & m2
    return g * m


def _pow_scalar_grad(c, x, g):
    e = c.attrs["exponent"]
    if e == 0:
        return g * 0.0
    return g * e * x.pow(e - 1)


neg = _unary("neg", np.negative, lambda c, x, g: -g, int_ok=True, saves=())
abs_ = _unary("abs", np.abs, lambda c, x, g: g * x.sign(), int_ok=True)
sign = _unary("sign", np.sign, lambda c, x, g: g * 0.0, int_ok=True, saves=())
exp = _unary("exp", np.exp, lambda c, x, g: g * c.out, saves=("out",))
log = _unary("log", np.log, lambda c, x, g: g / x)
sqrt = _unary("sqrt", np.sqrt, lambda c, x, g: g / (c.out * 2.0), saves=("out",))
rsqrt = _unary("rsqrt", lambda x: 1.0 / np.sqrt(x), lambda c, x, g: g * c.out.pow(3) * -0.5,
               saves=("out",))
sin = _unary("sin", np.sin, lambda c, x, g: g * x.cos())
cos = _unary("cos", np.cos, lambda c, x, g: -g * x.sin())
tan = _unary("tan", np.tan, lambda c, x, g: g * (1.0 + c.out * c.out), saves=("out",))
tanh = _unary("tanh", np.tanh, lambda c, x, g: g * (1.0 - c.out * c.out), saves=("out",))
sigmoid = _unary("sigmoid", lambda x: 1.0 / (1.0 + np.exp(-x)),
                 lambda c, x, g: g * c.out * (1.0 - c.out), saves=("out",))
# relu's gradient reads its output, as PyTorch's threshold_backward does (out > 0 exactly
# where x > 0): the output is what the next layer reads realized, so the backward reads no
# second texture (a transformer's feed-forward pre-activation, a matmul product plus bias,
# was kept and realized again in the backward just for this test)
relu = _unary("relu", lambda x: np.where((x > 0) | (x != x), x, np.zeros((), x.dtype)),
              lambda c, x, g: g * (c.out > 0), int_ok=True, saves=("out",))
leaky_relu = _unary("leaky_relu", lambda x, slope: np.where(x > 0, x, x * slope),
                    lambda c, x, g: Where.apply(x > 0, g, g * c.attrs["slope"]), params=("slope",))
erf = _unary("erf", lambda x: 1.0 - _erfc(x),
             lambda c, x, g: g * (x * x * -1.0).exp() * (2.0 / math.sqrt(math.pi)))
gelu = _unary("gelu", _gelu_ref, _gelu_grad, params=("approximate",))
softplus = _unary("softplus", _softplus_ref, _softplus_grad, params=("beta", "threshold"))
clamp = _unary("clamp", _clamp_ref, _clamp_grad, int_ok=True, params=("lo", "hi"))
pow_scalar = _unary("pow_scalar", lambda x, exponent: np.power(x, np.asarray(exponent, x.dtype)),
                    _pow_scalar_grad, int_ok=True, params=("exponent",))
log1p = _unary("log1p", np.log1p, lambda c, x, g: g / (x + 1.0))
floor = _unary("floor", np.floor, lambda c, x, g: g * 0.0, int_ok=True, saves=())
isnan = _unary("isnan", np.isnan, bool_out=True)
# their own kernels (bit tests), not compositions such as (x - x) == 0 or |x| == inf: a GPU
# compiler may fold those assuming finite floats (NVIDIA's did, under WebGPU)
isinf = _unary("isinf", np.isinf, bool_out=True)
isfinite = _unary("isfinite", np.isfinite, bool_out=True)
logical_not = _unary("logical_not", np.logical_not, bool_out=True)


# --- cast ------------------------------------------------------------------------------
class Cast(Op):
    name = "cast"
    elementwise = True
    saves = ()
    __slots__ = ()

    @classmethod
    def infer(cls, x, dtype):
        return x.shape, dtype

    @staticmethod
    def ref(x, dtype):
        return x.astype(dtype.np)

    def backward(self, g):
        src = self.inputs[0].dtype
        return (g if src.is_floating_point else None,)


# --- binary --------------------------------------------------------------------------
class Binary(Op):
    elementwise = True
    kind = "arith"   # arith | float (true division) | compare | logic
    __slots__ = ()

    @classmethod
    def infer(cls, a, b):
        shape = a.shape         # equal shapes, the common case, without a call
        if shape != b.shape:
            shape = broadcast_shapes(cls.name, shape, b.shape)
        if cls.kind in ("compare", "logic"):
            return shape, dtypes.bool_
        dt = a.dtype
        if dt is dtypes.float32 and b.dtype is dt:      # the common case, without a call
            return shape, dt
        dt = dtypes.promote(dt, b.dtype)
        if cls.kind == "float" or (dt is dtypes.bool_ and cls.name != "mul"):
            dt = dtypes.float32 if cls.kind == "float" else dtypes.int64
        return shape, dt

    def backward(self, g):
        a, b = self.inputs
        ga, gb = self.grad_rule(self, a, b, g)
        return (unbroadcast(ga, a.shape) if ga is not None and a.requires_grad else None,
                unbroadcast(gb, b.shape) if gb is not None and b.requires_grad else None)


BINARY = {}


def _binary(name, ref, grad=None, kind="arith", saves=(0, 1)):
    """One row of the binary table: a differentiable op when ``grad(ctx, a, b, g)`` is given;
    ``saves``: what ``grad`` reads (input indices and/or ``"out"``)."""
    cls = type(name.title(), (Binary,), {
        "name": name, "ref": staticmethod(ref), "kind": kind, "saves": saves,
        "grad_rule": staticmethod(grad) if grad else None,
        "differentiable": grad is not None, "__slots__": ()})
    BINARY[name] = cls
    return cls


def _pow_grad(c, a, b, g):
    ga = g * b * a.pow(b - 1.0) if a.requires_grad else None
    gb = None
    if b.requires_grad:
        gb = g * Where.apply((a == 0) & (b >= 0), g.new_zeros(()), c.out * a.log())
    return ga, gb


def _max_grad(c, a, b, g):
    m = (a > b) + (a == b) * 0.5
    return g * m, g * (1.0 - m)


def _min_grad(c, a, b, g):
    m = (a < b) + (a == b) * 0.5
    return g * m, g * (1.0 - m)


add = _binary("add", np.add, lambda c, a, b, g: (g, g), saves=())
sub = _binary("sub", np.subtract, lambda c, a, b, g: (g, -g), saves=())
mul = _binary("mul", np.multiply, lambda c, a, b, g: (g * b, g * a))
div = _binary("div", np.true_divide, lambda c, a, b, g: (g / b, -g * c.out / b), kind="float",
              saves=(1, "out"))
pow_ = _binary("pow", np.power, _pow_grad, saves=(0, 1, "out"))
maximum = _binary("maximum", np.maximum, _max_grad)
# integer floor division (div(rounding_mode=...) of ints; floats use floor(a / b)): x // 0
# is 0, as numpy's; exact on every backend where ints are (WebGL's int textures)
floor_divide = _binary("floor_divide", np.floor_divide, saves=())
minimum = _binary("minimum", np.minimum, _min_grad)
for _n, _f in (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less),
               ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal)):
    _binary(_n, _f, kind="compare")
for _n, _f in (("logical_and", np.logical_and), ("logical_or", np.logical_or),
               ("logical_xor", np.logical_xor)):
    _binary(_n, _f, kind="logic")


# --- where -----------------------------------------------------------------------------
class Where(Op):
    name = "where"
    elementwise = True
    saves = (0,)
    __slots__ = ()

    @classmethod
    def infer(cls, c, a, b):
        shape = broadcast_shapes("where", c.shape, a.shape, b.shape)
        return shape, dtypes.promote(a.dtype, b.dtype)

    @staticmethod
    def ref(c, a, b):
        return np.where(c.astype(bool), a, b)

    def backward(self, g):
        c, a, b = self.inputs
        zero = g.new_zeros(())
        return (None,
                unbroadcast(Where.apply(c, g, zero), a.shape) if a.requires_grad else None,
                unbroadcast(Where.apply(c, zero, g), b.shape) if b.requires_grad else None)

