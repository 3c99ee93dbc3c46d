"""Tensor: a buffer on a backend plus shape, dtype, device and autograd links, and the
functions that create tensors.

This module holds what a tensor *is*. The op methods (``x + y``, ``x.sum()``, ``x[i]``,
...) are the public functions of ``webdl.functions``, the layer above this one, bound onto
``Tensor`` from that package's one table (``webdl/functions/__init__.py``) when it is
imported -- which ``import webdl`` does first.
"""
import builtins
import numbers

import numpy as np

from . import dtypes
from . import autograd
from .autograd import is_grad_enabled, run_backward, to_device
from .backends import Device, device as _device
from .ops import Cast
from .ops.reduce import norm_dim
from . import random as _random


class Size(tuple):
    def __repr__(self):
        return f"webdl.Size({list(self)})"

    def numel(self):
        n = 1
        for d in self:
            n *= d
        return n


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


class Tensor:
    __slots__ = ("_buf", "shape", "dtype", "device", "requires_grad", "grad", "_ctx",
                 "__weakref__")
    __array_ufunc__ = None  # numpy scalars defer to Tensor's operators
    _apply = staticmethod(autograd.apply)   # how ops.Op.apply runs an op on tensors

    @classmethod
    def _wrap(cls, buf, shape, dtype, device):
        t = object.__new__(cls)
        t._buf = buf
        t.shape = Size(shape)
        t.dtype = dtype
        t.device = device
        t.requires_grad = False
        t.grad = None
        t._ctx = None
        return t

    def __init__(self, *args, **kwargs):
        raise TypeError("Tensor: create tensors with webdl.tensor(), webdl.zeros() and friends")

    # --- facts ------------------------------------------------------------------------
    @property
    def ndim(self):
        return len(self.shape)

    def dim(self):
        return len(self.shape)

    def size(self, dim=None):
        if dim is None:
            return self.shape
        return self.shape[norm_dim("size", dim, self.ndim)]

    def numel(self):
        return _numel(self.shape)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    def is_floating_point(self):
        return self.dtype.is_floating_point

    def element_size(self):
        return self.dtype.np.itemsize

    def is_contiguous(self):
        return True

    def contiguous(self):
        return self

    # --- data across to Python ------------------------------------------------------------
    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return self.device.backend.to_numpy(self._buf, self.shape, self.dtype)

    def _value(self):
        return self.device.backend.to_numpy(self._buf, self.shape, self.dtype)

    def item(self):
        if self.numel() != 1:
            raise ValueError(f"item: a tensor with {self.numel()} elements cannot be converted "
                             f"to a Python number (shape {tuple(self.shape)})")
        return self._value().reshape(()).item()

    def tolist(self):
        return self._value().tolist()

    def __float__(self):
        return builtins.float(self.item())

    def __int__(self):
        return builtins.int(self.item())

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(f"bool: the truth value of a tensor with {self.numel()} elements "
                               "is ambiguous")
        return builtins.bool(self.item())

    def __index__(self):
        if self.dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return builtins.int(self.item())

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return _format(self)

    __str__ = __repr__

    # --- autograd ----------------------------------------------------------------------
    def backward(self, gradient=None):
        if not self.requires_grad:
            raise RuntimeError(f"backward: this tensor (shape {tuple(self.shape)}) does not "
                               "require grad and has no grad_fn; set requires_grad=True on "
                               "the inputs before computing it")
        if gradient is None:
            if self.numel() != 1:
                raise RuntimeError(f"backward: grad can be implicitly created only for scalar "
                                   f"outputs; this output has shape {tuple(self.shape)}, pass "
                                   "a gradient of that shape")
            gradient = ones_like(self)
        else:
            gradient = as_tensor_like(gradient, self)
            if tuple(gradient.shape) != tuple(self.shape):
                raise ValueError(f"backward: gradient has shape {tuple(gradient.shape)} but the "
                                 f"output has shape {tuple(self.shape)}")
        run_backward(self, gradient.detach())

    def detach(self):
        return Tensor._wrap(self._buf, self.shape, self.dtype, self.device)

    def detach_(self):
        self._ctx = None
        self.requires_grad = False
        return self

    def requires_grad_(self, flag=True):
        if flag and not self.dtype.is_floating_point:
            raise RuntimeError(f"requires_grad_: only float tensors can require grad, this one "
                               f"is {self.dtype}")
        if not flag and self._ctx is not None:
            raise RuntimeError("requires_grad_: can't turn off requires_grad on a non-leaf "
                               "tensor; use detach()")
        self.requires_grad = flag
        return self

    def free_(self):
        """Release this tensor's device memory now (GPU textures go back to the pool).
        The tensor, and any view sharing its memory, can't be used afterwards."""
        self.device.backend.free(self._buf)
        return self

    def retain_grad(self):
        raise NotImplementedError("retain_grad: gradients of non-leaf tensors are not kept")

    # --- in-place updates (they swap the buffer; used by optimizers and nn.init) ----------
    def _assign(self, other):
        other = as_tensor_like(other, self)
        if tuple(other.shape) != tuple(self.shape):
            other = other.expand(self.shape)
        if other.dtype is not self.dtype:
            other = other.to(self.dtype)
        if other.device != self.device:
            other = other.to(self.device)
        self._buf = self.device.backend.realize(other._buf)  # kept across steps: compute
        return self

    @staticmethod
    def _realize_all(*tensors):
        """``_realize`` several tensors of one device, in one kernel where its backend can
        (an optimizer's new state and parameter)."""
        backend = tensors[0].device.backend
        for t, b in zip(tensors, backend.realize_many([t._buf for t in tensors])):
            t._buf = b

    def _realize(self):
        """Compute this tensor's value now if its backend deferred it (lazy fusion)."""
        self._buf = self.device.backend.realize(self._buf)
        return self

    def copy_(self, src):
        if self.requires_grad and self._ctx is None and is_grad_enabled():
            raise RuntimeError("copy_: a leaf tensor that requires grad can't be modified in "
                               "place outside webdl.no_grad()")
        return self._assign(src)

    def zero_(self):
        return self._assign(zeros(self.shape, dtype=self.dtype, device=self.device))

    def fill_(self, value):
        return self._assign(full(self.shape, value, dtype=self.dtype, device=self.device))

    @property
    def data(self):
        return self.detach()

    @data.setter
    def data(self, value):
        if tuple(value.shape) != tuple(self.shape):
            self.shape = Size(value.shape)
        self._buf = value.to(self.device)._buf
        self.dtype = value.dtype

    # --- device and dtype -----------------------------------------------------------------
    def to(self, *args, dtype=None, device=None, **kw):
        for a in args:
            if isinstance(a, (str, Device)) and not _looks_like_dtype(a):
                device = a
            elif isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            else:
                dtype = a
        out = self
        if dtype is not None and dtypes.to_dtype(dtype) is not self.dtype:
            out = Cast.apply(out, dtype=dtypes.to_dtype(dtype))
        if device is not None:
            dev = _device(device)
            if dev != out.device:
                out = to_device(out, dev)
        return out

    def cpu(self):
        return self.to("cpu")

    def float(self):
        return self.to(dtypes.float32)

    def long(self):
        return self.to(dtypes.int64)

    def int(self):
        return self.to(dtypes.int64)

    def bool(self):
        return self.to(dtypes.bool_)

    def type_as(self, other):
        return self.to(other.dtype)

    def clone(self):
        return Cast.apply(self, dtype=self.dtype) if self.requires_grad else \
            Tensor._wrap(self._buf, self.shape, self.dtype, self.device)

    def new_zeros(self, shape, dtype=None):
        return zeros(shape, dtype=dtype or self.dtype, device=self.device)

    def new_ones(self, shape, dtype=None):
        return ones(shape, dtype=dtype or self.dtype, device=self.device)

    def new_full(self, shape, value, dtype=None):
        return full(shape, value, dtype=dtype or self.dtype, device=self.device)

    def new_tensor(self, data, dtype=None):
        return tensor(data, dtype=dtype or self.dtype, device=self.device)

    # --- PyTorch names for what webdl lacks: no CUDA, floats stored as float32 ------------
    @property
    def is_cuda(self):
        return False

    def cuda(self, device=None, non_blocking=False):
        """webdl has no CUDA: raises the device registry's error naming its devices."""
        return self.to(_device("cuda"))

    def half(self):
        """float16 in PyTorch; webdl stores floats as float32 (``webdl.half is float32``)."""
        return self.to(dtypes.float16)

    def bfloat16(self):
        """bfloat16 in PyTorch; webdl stores floats as float32."""
        return self.to(dtypes.bfloat16)

    def double(self):
        """float64 in PyTorch; webdl stores floats as float32."""
        return self.to(dtypes.float64)


def _looks_like_dtype(a):
    try:
        if isinstance(a, str) and a.split(":")[0] in ("cpu", "webgl", "cuda", "cpu64"):
            return False
        dtypes.to_dtype(a)
        return True
    except TypeError:
        return False


# --- creation -------------------------------------------------------------------------
def _infer_dtype(arr):
    k = arr.dtype.kind
    if k == "b":
        return dtypes.bool_
    if k in "iu":
        return dtypes.int64
    if k == "f":
        return dtypes.float32
    raise TypeError(f"tensor: can't make a tensor from data of numpy dtype {arr.dtype}")


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = tuple(shape[0])
    for d in shape:
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < 0:
            raise ValueError(f"shape: sizes must be non-negative ints, got {tuple(shape)}")
    return tuple(int(d) for d in shape)


def tensor(data, dtype=None, device=None, requires_grad=False):
    if isinstance(data, Tensor):
        data = data._value()
    arr = np.asarray(data)
    if arr.dtype == object:
        try:
            arr = np.asarray([t.item() if isinstance(t, Tensor) else t for t in data])
        except Exception:
            raise TypeError("tensor: data must be numbers, nested lists of numbers or an "
                            "array") from None
    dt = dtypes.to_dtype(dtype) if dtype is not None else _infer_dtype(arr)
    return _from_numpy(arr, dt, device, requires_grad)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device) if (dtype or device) else data
    return tensor(data, dtype=dtype, device=device)


def from_numpy(arr):
    return tensor(arr)


def _from_numpy(arr, dt, device, requires_grad=False):
    dev = _device(device)
    if dt.is_floating_point and not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
        raise TypeError(f"tensor: can't convert numpy dtype {arr.dtype} to {dt}")
    if not (dt.is_floating_point and arr.dtype.kind == "f"):  # floats: the backend decides
        arr = arr.astype(dt.np, copy=False)                      # its precision
    t = Tensor._wrap(dev.backend.from_numpy(arr, dt), arr.shape, dt, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def full(*args, dtype=None, device=None, requires_grad=False, fill_value=None):
    if fill_value is None:
        *shape, value = args
    else:
        shape, value = args, fill_value
    shape = _shape_arg(shape)
    if dtype is None:
        dt = dtypes.bool_ if isinstance(value, bool) else (
            dtypes.int64 if isinstance(value, numbers.Integral) else dtypes.float32)
    else:
        dt = dtypes.to_dtype(dtype)
    dev = _device(device)
    t = Tensor._wrap(dev.backend.full(shape, value, dt), shape, dt, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    return full(*_shape_arg(shape), 0, dtype=dtype or dtypes.float32, device=device,
                requires_grad=requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    return full(*_shape_arg(shape), 1, dtype=dtype or dtypes.float32, device=device,
                requires_grad=requires_grad)


def empty(*shape, dtype=None, device=None, requires_grad=False):
    return zeros(*shape, dtype=dtype, device=device, requires_grad=requires_grad)


def _like(fn, x, dtype, device, requires_grad, *extra):
    return fn(*x.shape, *extra, dtype=dtype or x.dtype, device=device or x.device,
              requires_grad=requires_grad)


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    return _like(zeros, x, dtype, device, requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    return _like(ones, x, dtype, device, requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False):
    return _like(zeros, x, dtype, device, requires_grad)


def full_like(x, value, dtype=None, device=None, requires_grad=False):
    return full(*x.shape, value, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)


def rand_like(x, dtype=None, device=None, requires_grad=False):
    return rand(*x.shape, dtype=dtype, device=device or x.device, requires_grad=requires_grad)


def randn_like(x, dtype=None, device=None, requires_grad=False):
    return randn(*x.shape, dtype=dtype, device=device or x.device, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    is_int = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dt = dtypes.to_dtype(dtype) if dtype is not None else (dtypes.int64 if is_int else dtypes.float32)
    arr = np.arange(start, end, step, dtype=np.float64 if not is_int else np.int64)
    return _from_numpy(arr, dt, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    arr = np.linspace(start, end, int(steps), dtype=np.float64)
    return _from_numpy(arr, dtypes.to_dtype(dtype or dtypes.float32), device, requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False, generator=None):
    shape = _shape_arg(shape)
    arr = _random.generator(generator).random(shape, dtype=np.float32)
    return _from_numpy(arr, dtypes.to_dtype(dtype or dtypes.float32), device, requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False, generator=None):
    shape = _shape_arg(shape)
    arr = _random.generator(generator).standard_normal(shape, dtype=np.float32)
    return _from_numpy(arr, dtypes.to_dtype(dtype or dtypes.float32), device, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None, generator=None):
    if high is None:
        low, high = 0, low
    arr = _random.generator(generator).integers(low, high, size=_shape_arg((size,)) if isinstance(
        size, int) else tuple(size))
    return _from_numpy(arr, dtypes.to_dtype(dtype or dtypes.int64), device)


def randperm(n, dtype=None, device=None, generator=None):
    arr = _random.generator(generator).permutation(n)
    return _from_numpy(arr, dtypes.to_dtype(dtype or dtypes.int64), device)


def as_tensor_like(v, ref):
    """A Python number (or array) as a tensor on ``ref``'s device, with PyTorch's rules for
    scalars: a float scalar with an int tensor gives float32, otherwise the tensor's dtype."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, (bool, np.bool_)):
        dt = dtypes.bool_ if ref.dtype is dtypes.bool_ else ref.dtype
    elif isinstance(v, numbers.Integral):
        dt = ref.dtype if ref.dtype is not dtypes.bool_ else dtypes.int64
    elif isinstance(v, numbers.Real):
        dt = ref.dtype if ref.dtype.is_floating_point else dtypes.float32
    else:
        return tensor(v, device=ref.device)
    return Tensor._wrap(ref.device.backend.full((), v, dt), (), dt, ref.device)


# --- printing like PyTorch ----------------------------------------------------------------
def _format(t):
    a = t._value()
    suffix = []
    if t.device.type != "cpu":
        suffix.append(f"device='{t.device.type}'")
    if a.size == 0 and a.ndim != 1:
        body = "[]"
        suffix.insert(0, f"size={tuple(a.shape)}")
    else:
        summarize = a.size > 1000
        fmt, width = _formatter(_summarized(a) if summarize else a, t.dtype)
        body = _fmt_nested(a, fmt, width, 7, summarize)
    if t.dtype is dtypes.int64 and a.size == 0:
        suffix.append("dtype=webdl.int64")
    if t._ctx is not None:
        suffix.append(f"grad_fn=<{type(t._ctx).__name__}Backward>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    return "tensor(" + ", ".join([body] + suffix) + ")"


_EDGE = 3


def _summarized(a):
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * _EDGE:
        return np.stack([_summarized(x) for x in list(a[:_EDGE]) + list(a[-_EDGE:])])
    return np.stack([_summarized(x) for x in a]) if a.shape[0] else a


def _formatter(a, dt):
    """PyTorch's rules: widths and the fixed/scientific choice come from the (summarised)
    values; floats that are all whole print as '1.'."""
    flat = a.reshape(-1)
    if not dt.is_floating_point:
        strs = [("True" if v else "False") if dt is dtypes.bool_ else str(v) for v in flat]
        return (lambda v: (("True" if v else "False") if dt is dtypes.bool_ else str(v))), \
            max((len(x) for x in strs), default=1)
    fin = flat[np.isfinite(flat)].astype(np.float64)
    nz = np.abs(fin[fin != 0])
    width = 1
    if fin.size == 0 or np.all(fin == np.round(fin)):
        if nz.size and (nz.max() / nz.min() > 1000.0 or nz.max() > 1e8):
            f = "{:.4e}"
        else:
            f = "{:.0f}."
    elif nz.size and (nz.max() / nz.min() > 1000.0 or nz.max() > 1e8 or nz.min() < 1e-4):
        f = "{:.4e}"
    else:
        f = "{:.4f}"
    for v in fin[fin != 0]:
        width = max(width, len(f.format(v)))

    def fmt(v):
        return f.format(v) if np.isfinite(v) else _nonfinite(v)
    return fmt, width


def _nonfinite(v):
    return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")


def _fmt_nested(a, fmt, width, indent, summarize):
    if a.ndim == 0:
        return fmt(a.item())
    n = a.shape[0]
    cut = summarize and n > 2 * _EDGE
    if a.ndim == 1:
        cells = [fmt(v).rjust(width) for v in (list(a[:_EDGE]) + list(a[-_EDGE:]) if cut
                                                 else list(a))]
        if cut:
            cells.insert(_EDGE, " ...")
        per_line = max(1, (80 - indent) // (width + 2))
        lines = [", ".join(cells[i:i + per_line]) for i in range(0, len(cells), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = list(range(_EDGE)) + [None] + list(range(n - _EDGE, n)) if cut else list(range(n))
    parts = ["..." if i is None else _fmt_nested(a[i], fmt, width, indent + 1, summarize)
             for i in rows]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"

