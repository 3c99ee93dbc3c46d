"""Reduction primitives: sum, amax, amin over a set of axes; argmax and argmin along one;
softmax over the last dim (scale and masks fused in) and its backward."""
import numpy as np

from .base import Op
from .elementwise import unbroadcast
from .. import dtypes


def norm_dim(op, d, ndim):
    if type(d) is int and 0 <= d < ndim:     # the common case, without the checks below
        return d
    n = max(ndim, 1)
    if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
        raise TypeError(f"{op}: dim must be an int, got {d!r}")
    if not -n <= d < n:
        raise IndexError(f"{op}: dim {d} is out of range for a tensor of {ndim} dims "
                         f"(expected in [{-n}, {n - 1}])")
    return int(d) % n if ndim else 0


def norm_dims(op, dim, ndim):
    """None -> all axes; int or sequence -> sorted unique non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        dim = (dim,)
    axes = tuple(sorted({norm_dim(op, d, ndim) for d in dim}))
    return tuple(a for a in axes if a < ndim) if ndim else ()


def reduced_shape(shape, axes, keepdim):
    if keepdim:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


class Reduce(Op):
    __slots__ = ()

    @classmethod
    def infer(cls, x, axes, keepdim):
        if cls.name != "sum":
            for a in axes:
                if x.shape[a] == 0:
                    raise IndexError(f"{cls.name}: cannot reduce over dim {a} of size 0 "
                                     f"(shape {tuple(x.shape)})")
            return reduced_shape(x.shape, axes, keepdim), x.dtype
        dt = dtypes.int64 if not x.dtype.is_floating_point else x.dtype
        return reduced_shape(x.shape, axes, keepdim), dt

    def _expand_back(self, t):
        x = self.inputs[0]
        axes, keepdim = self.attrs["axes"], self.attrs["keepdim"]
        if not keepdim:
            t = t.reshape(reduced_shape(x.shape, axes, True))
        return t.expand(x.shape)


class Sum(Reduce):
    name = "sum"
    saves = ()
    __slots__ = ()

    @staticmethod
    def ref(x, axes, keepdim):
        if not x.dtype.kind == "f":
            x = x.astype(np.int64)
        return np.sum(x, axis=axes, keepdims=keepdim)

    def backward(self, g):
        return (self._expand_back(g),)


class _Extreme(Reduce):
    __slots__ = ()

    def backward(self, g):
        # PyTorch's amax/amin: the gradient is shared evenly among tied extremes.
        x = self.inputs[0]
        mask = x == self._expand_back(self.out)
        count = mask.sum(dim=self.attrs["axes"], keepdim=True)
        return (self._expand_back(g) * mask / count,)


class Amax(_Extreme):
    name = "amax"
    saves = (0, "out")
    __slots__ = ()

    @staticmethod
    def ref(x, axes, keepdim):
        return np.max(x, axis=axes, keepdims=keepdim) if axes else x.copy()


class Amin(_Extreme):
    name = "amin"
    saves = (0, "out")
    __slots__ = ()

    @staticmethod
    def ref(x, axes, keepdim):
        return np.min(x, axis=axes, keepdims=keepdim) if axes else x.copy()


class _ArgReduce(Op):
    differentiable = False
    __slots__ = ()

    @classmethod
    def infer(cls, x, axis, keepdim):
        if x.shape[axis] == 0:
            raise IndexError(f"{cls.name}: cannot reduce over dim {axis} of size 0 "
                             f"(shape {tuple(x.shape)})")
        return reduced_shape(x.shape, (axis,), keepdim), dtypes.int64


class Argmax(_ArgReduce):
    name = "argmax"
    __slots__ = ()

    @staticmethod
    def ref(x, axis, keepdim):
        return np.argmax(x, axis=axis, keepdims=keepdim)  # the first NaN wins, as in PyTorch


class Argmin(_ArgReduce):
    name = "argmin"
    __slots__ = ()

    @staticmethod
    def ref(x, axis, keepdim):
        return np.argmin(x, axis=axis, keepdims=keepdim)


# --- softmax over the last dim, with its scale and masks fused --------------------------------
def _causal(shape):
    """True where query i (dim -2) may attend to key j (dim -1): j <= i, PyTorch's
    upper-left aligned ``is_causal``."""
    return np.tril(np.ones(shape[-2:], dtype=bool))


class Softmax(Op):
    """softmax (``log``: log_softmax) over the last dim of ``s``, where ``s`` is ``x *
    scale`` with an optional ``mask`` (bool: False drops the position, as -inf; float:
    added) broadcast to ``x``'s shape, and with ``causal`` the keys past each query's
    position (dim -2) dropped (``mask_bool`` says which kind of mask: a kernel sees no
    dtypes). A row with nothing left gives NaN, as PyTorch's softmax;
    with ``safe``, zeros (PyTorch's scaled_dot_product_attention). One primitive, so a
    backend can run the whole row -- scale, mask, max, exp and normalisation -- in two
    passes (WebGL: one row statistic, one output pass)."""
    name = "softmax"
    saves = ("out",)
    __slots__ = ()

    @classmethod
    def infer(cls, x, *mask, scale, causal, log, safe, mask_bool=False):
        if not x.dtype.is_floating_point:
            raise TypeError(f"softmax: expected a floating point input, got {x.dtype}")
        if x.ndim == 0:
            raise ValueError("softmax: the fused kernel needs at least one dim "
                             "(reshape a scalar to (1,) first)")
        if causal and x.ndim < 2:
            raise ValueError(f"softmax: a causal mask needs (..., L, S) scores, got shape "
                             f"{tuple(x.shape)}")
        if mask:
            m = mask[0]
            nd = len(x.shape)
            if m.ndim > nd or any(d not in (1, e) for d, e in
                                  zip(m.shape, x.shape[nd - m.ndim:])):
                raise ValueError(f"softmax: mask of shape {tuple(m.shape)} does not broadcast "
                                 f"to the scores' shape {tuple(x.shape)}")
            if not (m.dtype is dtypes.bool_ or m.dtype.is_floating_point):
                raise TypeError(f"softmax: the mask must be bool or floating point, got "
                                f"{m.dtype}")
            if mask_bool != (m.dtype is dtypes.bool_):
                raise ValueError(f"softmax: mask_bool={mask_bool} but the mask is {m.dtype}")
        return tuple(x.shape), x.dtype

    @staticmethod
    def ref(x, *mask, scale, causal, log, safe, mask_bool=False):
        s = x * np.float32(scale)
        if mask:
            m = mask[0]
            s = np.where(m, s, -np.inf) if m.dtype == bool else s + m
        if causal:
            s = np.where(_causal(x.shape), s, -np.inf)
        s = np.broadcast_to(s, x.shape)
        mx = np.max(s, axis=-1, keepdims=True) if x.shape[-1] else np.zeros(s.shape)
        mx = np.where(mx == -np.inf, 0.0, mx)     # a row of +inf or NaN gives NaN, as PyTorch
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            e = np.exp(s - mx)
            z = np.sum(e, axis=-1, keepdims=True)
            out = s - mx - np.log(z) if log else e / z
        if safe:
            out = np.where(np.all(s == -np.inf, axis=-1, keepdims=True), 0.0, out)
        return out.astype(x.dtype)

    def backward(self, g):
        x = self.inputs[0]
        a = self.attrs
        gx = SoftmaxBackward.apply(g, self.out, scale=a["scale"], log=a["log"]) \
            if x.requires_grad else None
        if len(self.inputs) == 1:
            return (gx,)
        m = self.inputs[1]
        gm = None
        if m.requires_grad and m.dtype.is_floating_point:  # an added mask: d s / d mask = 1
            gm = unbroadcast(SoftmaxBackward.apply(g, self.out, scale=1.0, log=a["log"]),
                             m.shape)
        return gx, gm


class SoftmaxBackward(Op):
    """The gradient of :class:`Softmax` with respect to its scaled scores, times ``scale``:
    ``scale * y * (g - sum(g * y))`` (``log``: ``scale * (g - exp(y) * sum(g))``), sums over
    the last dim. Its own primitive, so a backend can run it in two passes (one row
    reduction, one elementwise pass)."""
    name = "softmax_backward"
    differentiable = False      # backward passes run without recording (no create_graph)
    saves = None
    __slots__ = ()

    @classmethod
    def infer(cls, g, y, *, scale, log):
        if tuple(g.shape) != tuple(y.shape):
            raise ValueError(f"softmax_backward: gradient {tuple(g.shape)} and output "
                             f"{tuple(y.shape)} differ in shape")
        return tuple(y.shape), y.dtype

    @staticmethod
    def ref(g, y, *, scale, log):
        with np.errstate(invalid="ignore", over="ignore"):
            if log:     # a dropped position (y = -inf) takes no gradient
                out = np.where(y == -np.inf, 0.0,
                               g - np.exp(y) * np.sum(g, axis=-1, keepdims=True))
            else:
                out = y * (g - np.sum(g * y, axis=-1, keepdims=True))
        return (out * np.float32(scale)).astype(y.dtype)
