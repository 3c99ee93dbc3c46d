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
from .autograd import is_grad_enabled, no_grad, enable_grad, run_backward, to_device
from .backends import Device, device as _device
from .ops import Cast, Cat, Expand, Permute, Reshape, Unslice, Where
from .ops.elementwise import broadcast_shapes, neg as Neg
from .ops.reduce import Amax, norm_dim
from . import random as _random
from .storage import (DETACH, contiguous_strides, geometry, replay, storage_of, version)


# Index range checks waiting for the next readback (webdl.functions.indexing: indices made on
# a GPU are checked there rather than read back on the spot, which would stall the GPU for
# each gather): per device, [the tensors of the [-min, max] of checked indices, what each pair
# checked ((op, size, negative)), {check: the index tensors still to check that way}]. The
# index tensors wait as they are (a buffer is never written again: an in-place write gives
# its tensor a new one) and are reduced when the checks are joined (``joined_index_checks``),
# those of one check together: a step that looks up GPU-made tokens in nine embeddings pays
# one reduction, not nine. Reading any value of that device back reads them first and raises
# the IndexError a check finds -- as PyTorch's device-side asserts do on CUDA.
INDEX_CHECKS = {}


def joined_index_checks(device):
    """``device``'s waiting checks as [bounds (one tensor), checks], or None: the waiting
    index tensors reduced to bounds, and the bounds tensors joined in one (kept joined)."""
    entry = INDEX_CHECKS.get(device)
    if entry is None:
        return None
    if entry[2]:
        for check, indices in entry[2].items():
            entry[0].append(_index_bounds(indices, device))
            entry[1].append(check)
        entry[2] = {}
    if len(entry[0]) > 1:
        entry[0] = [Cat.apply(*entry[0], axis=0)]
    return [entry[0][0], entry[1]]


def _index_bounds(indices, device):
    """[-min, max] of the index tensors ``indices`` in one reduction: their values and
    their negation as the two rows of one lazy expression."""
    flat = [Reshape.apply(t, shape=(1, _numel(t.shape))) for t in indices]
    flat = flat[0] if len(flat) == 1 else Cat.apply(*flat, axis=1)
    rows = Expand.apply(flat, shape=(2, flat.shape[1]))
    sel = constant(np.array([[True], [False]]), dtypes.bool_, device)
    return Amax.apply(Where.apply(sel, Neg.apply(rows), rows), axes=(1,), keepdim=False)


def run_index_checks(device):
    """Read ``device``'s waiting index checks back; IndexError for the first that fails."""
    entry = joined_index_checks(device)
    if entry is None:
        return
    del INDEX_CHECKS[device]
    bounds, checks = entry
    v = device.backend.to_numpy(bounds._buf, bounds.shape, bounds.dtype).reshape(-1, 2)
    for (op, size, negative), (neg_lo, hi) in zip(checks, v.tolist()):
        lo = -neg_lo
        low = -size if negative else 0
        if lo < low or hi >= size:
            raise IndexError(f"{op}: index {lo if lo < low else hi} is out of bounds for size "
                             f"{size} (found at this readback: indices computed on the GPU "
                             "are checked when values are next read back)")


# checks waiting on a device before they are read back anyway (a bound on what they hold)
MAX_WAITING_CHECKS = 64


def check_later(device, bounds, checks):
    """Add index checks (``bounds``: their [-min, max] pairs, one tensor) to those waiting on
    ``device`` for its next readback (``INDEX_CHECKS``; the bounds are joined when they
    are read)."""
    entry = _waiting(device)
    entry[0].append(bounds)
    entry[1].extend(checks)
    _bound_waiting(device, entry)


def wait_index(index, check):
    """Index tensor ``index`` (made on its GPU) to be checked as ``check`` ((op, size,
    negative)) at its device's next readback, reduced with the others of that check (see
    ``INDEX_CHECKS``)."""
    device = index.device
    entry = _waiting(device)
    entry[2].setdefault(check, []).append(
        Tensor._wrap(index._buf, index.shape, index.dtype, device))
    _bound_waiting(device, entry)


def _waiting(device):
    entry = INDEX_CHECKS.get(device)
    if entry is None:
        entry = INDEX_CHECKS[device] = [[], [], {}]
    return entry


def _bound_waiting(device, entry):
    """Run the waiting checks once MAX_WAITING_CHECKS wait (what they hold stays bounded)."""
    if len(entry[1]) + sum(len(v) for v in entry[2].values()) >= MAX_WAITING_CHECKS:
        run_index_checks(device)


class Size(tuple):
    def __repr__(self):
        return f"webdl.Size({list(self)})"

    def numel(self):
        n = 1
        for d in self:
            n *= d
        return n


_SCALAR = Size()     # the shape of as_tensor_like's scalars, made once


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


class Tensor:
    __slots__ = ("_buf", "shape", "dtype", "device", "requires_grad", "grad", "_ctx",
                 "_storage", "_chain", "_accum", "__weakref__")
    __array_ufunc__ = None  # numpy scalars defer to Tensor's operators
    _apply = staticmethod(autograd.apply)   # how ops.Op.apply runs an op on tensors

    @classmethod
    def _wrap(cls, buf, shape, dtype, device):
        t = object.__new__(cls)
        t._buf = buf
        t.shape = shape if type(shape) is Size else Size(shape)
        t.dtype = dtype
        t.device = device
        t.requires_grad = False
        t.grad = None
        t._ctx = None
        t._storage = None    # see webdl.storage: set once views share this tensor's data
        t._chain = None
        t._accum = None      # weakref to this leaf's AccumulateGrad node (webdl.autograd)
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
    def grad_fn(self):
        return self._ctx

    def is_floating_point(self):
        return self.dtype.is_floating_point

    # PyTorch's device predicates; webdl's devices are cpu and webgl, so the CUDA and XPU
    # ones are False (programs test them to choose a multi-GPU path, e.g. dcgan's forward)
    @property
    def is_cpu(self):
        return self.device.type == "cpu"

    @property
    def is_cuda(self):
        return False

    @property
    def is_xpu(self):
        return False

    def element_size(self):
        return self.dtype.np.itemsize

    def stride(self, dim=None):
        strides = geometry(self)[0]
        return strides if dim is None else strides[norm_dim("stride", dim, self.ndim)]

    def storage_offset(self):
        return geometry(self)[1]

    def is_contiguous(self):
        want = contiguous_strides(self.shape)
        return all(n == 1 or s == w for n, s, w in zip(self.shape, geometry(self)[0], want))

    def contiguous(self):
        return self if self.is_contiguous() else self.clone()

    # --- data across to Python ------------------------------------------------------------
    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return self._value()

    def _value(self):
        if INDEX_CHECKS and getattr(self._buf, "host", None) is None:   # a real readback
            run_index_checks(self.device)
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

    def __deepcopy__(self, memo):
        """A copy with storage of its own (the buffer is shared: buffers never change)."""
        if self._ctx is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment")
        out = type(self)._wrap(self._buf, self.shape, self.dtype, self.device)
        out.requires_grad = self.requires_grad
        memo[id(self)] = out
        if self.grad is not None:
            out.grad = self.grad.__deepcopy__(memo)
        return out

    def __format__(self, spec):
        """``f"{loss:.4f}"``: a one-element tensor formats as its number (as in PyTorch)."""
        if self.numel() == 1 and self.ndim <= 1:
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string passed to Tensor.__format__ (a tensor "
                            f"of shape {tuple(self.shape)})")
        return str(self)

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
        """A tensor sharing this one's storage (writes go through), outside the graph."""
        out = Tensor._wrap(self._buf, self.shape, self.dtype, self.device)
        st = storage_of(self)
        out._storage, out._chain = st, self._chain + ((DETACH, None),)
        st.add(out)
        return out

    def detach_(self):
        self._ctx = None
        self.requires_grad = False
        return self

    @property
    def _version(self):
        """How many in-place writes this tensor's storage has had (PyTorch's counter)."""
        return version(self)

    @property
    def is_leaf(self):
        return self._ctx is None

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

    # --- in-place writes (see webdl.storage) --------------------------------------------
    def _check_inplace(self, op):
        """PyTorch's refusals of an in-place write that autograd could not follow."""
        if not is_grad_enabled() or not self.requires_grad:
            return
        if self._ctx is None:
            raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
        root = self._storage.root() if self._chain else None
        if root is not None and root.requires_grad and root._ctx is None:
            raise RuntimeError(f"{op}: a view of a leaf Variable that requires grad is being "
                               "used in an in-place operation.")

    def _snapshot(self):
        """This tensor's current value and autograd identity, outside any storage: what an
        in-place op computes its result from."""
        t = Tensor._wrap(self._buf, self.shape, self.dtype, self.device)
        t._ctx, t.requires_grad = self._ctx, self.requires_grad
        return t

    def _fit(self, value, op):
        """``value`` as this tensor's in-place new contents: PyTorch's rules for the shape
        (it broadcasts to ours, never beyond) and the dtype (no float into an int tensor,
        nothing non-bool into a bool one)."""
        value = as_tensor_like(value, self)
        if value.device != self.device:
            value = value.to(self.device)
        if tuple(value.shape) != tuple(self.shape):
            both = broadcast_shapes(op, self.shape, value.shape)
            if both != tuple(self.shape):
                raise RuntimeError(f"{op}: output with shape {list(self.shape)} doesn't match "
                                   f"the broadcast shape {list(both)}")
            if value.ndim < self.ndim:
                lead = (1,) * (self.ndim - value.ndim)
                value = Reshape.apply(value, shape=lead + tuple(value.shape))
            value = Expand.apply(value, shape=tuple(self.shape))
        if value.dtype is not self.dtype:
            if value.dtype.rank > self.dtype.rank and op != "copy_":
                raise RuntimeError(f"{op}: result type {value.dtype.name} can't be cast to the "
                                   f"desired output type {self.dtype.name}")
            value = Cast.apply(value, dtype=self.dtype)
        return value

    def _inplace_from(self, fn, op):
        """``x.op_(...)``: ``fn`` applied to the current value, written back in place."""
        self._check_inplace(op)
        return self._write(self._fit(fn(self._snapshot()), op))

    def _write(self, value, own=False):
        """Make ``value`` (this tensor's shape, dtype and device) this tensor's contents:
        the storage it shares with its base and views gets a new buffer, every live tensor
        of it re-reads its part, the version goes up. When autograd follows the write,
        the root and the views take new ``grad_fn``s (PyTorch's CopySlices). ``own``:
        ``value`` was made from a number for this write, so no other tensor shares its
        memory and a view written without autograd takes its buffer as is instead of
        re-reading its part of the new root (``x[:, 0] = 5``: no view ops for the
        temporary view written; a tensor's values are re-read, so that freeing that
        tensor later leaves the view alone)."""
        written = value
        track = is_grad_enabled() and (value.requires_grad or self.requires_grad)
        st = storage_of(self)
        if self._chain:
            strides = geometry(self)[0]
            if any(s == 0 and n > 1 for s, n in zip(strides, self.shape)):
                raise RuntimeError("unsupported operation: more than one element of the "
                                   "written-to tensor refers to a single memory location. "
                                   "Please clone() the tensor before performing the operation.")
            root = st.root()
            base = Tensor._wrap(st.buf, st.shape, self.dtype, self.device)
            if track and root is not None and root.requires_grad:
                base._ctx, base.requires_grad = root._ctx, True
            with enable_grad() if track else no_grad():
                value = _scatter_back(base, self._chain, value)
        elif track and value._ctx is None:
            value = Cast.apply(value, dtype=value.dtype)    # a node of its own (CopyBackwards)
        backend = self.device.backend
        st.buf = backend.settle(value._buf)    # kept across steps: computed soon
        st.version += 1
        new_root = Tensor._wrap(st.buf, st.shape, self.dtype, self.device)
        new_root._ctx, new_root.requires_grad = value._ctx, value.requires_grad and track
        for t in st.members():
            if track and all(op is not DETACH for op, _ in t._chain):
                v = new_root    # a view autograd follows: replayed with ops
                for op, attrs in t._chain:
                    if op is not DETACH:
                        v = op.apply(v, **attrs)
                t._buf, t._ctx, t.requires_grad = v._buf, v._ctx, v.requires_grad
            elif t is self and own and t._chain:
                t._buf = written._buf
            else:
                t._buf = replay(backend, st, t._chain, t.dtype)
        return self

    def _realize(self):
        """Compute this tensor's value now if its backend deferred it (lazy fusion); the
        value is the same, so views and storage need no update."""
        self._buf = self.device.backend.realize(self._buf)
        return self

    @staticmethod
    def _realize_all(*tensors):
        """Compute several tensors now, those of one shape on one device in one kernel where
        its backend can (an optimizer's new state and parameter, a step's gradients)."""
        by_backend = {}
        for t in tensors:
            by_backend.setdefault(id(t.device.backend), []).append(t)
        for ts in by_backend.values():
            bufs = ts[0].device.backend.realize_many([t._buf for t in ts])
            for t, b in zip(ts, bufs):
                t._buf = b

    def _overwrite(self, src, op):
        """copy_ and fill_: contents that don't depend on the old ones."""
        self._check_inplace(op)
        value = self._fit(src, "copy_")
        if self.requires_grad and is_grad_enabled() and not self._chain:
            # the old value gets a zero gradient, as from PyTorch's CopyBackwards
            value = Where.apply(full((), False, device=self.device), self._snapshot(), value)
        return self._write(value, own=not isinstance(src, Tensor))    # a number: made here

    def copy_(self, src, non_blocking=False):
        return self._overwrite(src, "copy_")

    def zero_(self):
        return self._overwrite(0, "zero_")

    def fill_(self, value):
        if isinstance(value, Tensor):
            if value.numel() != 1:
                raise RuntimeError(f"fill_: only supports 0-dimension value tensor but got "
                                   f"tensor with {value.ndim} dimensions")
            value = value.reshape(())
        return self._overwrite(value, "fill_")

    @property
    def data(self):
        return self.detach()

    @data.setter
    def data(self, value):
        """``t.data = v``: ``t`` now shares ``v``'s storage (as in PyTorch)."""
        if not isinstance(value, Tensor):
            raise TypeError(f"data: expected a Tensor, got {type(value).__name__}")
        if self._storage is not None:
            self._storage.discard(self)
        st = storage_of(value)
        self._buf, self.shape, self.dtype, self.device = value._buf, value.shape, \
            value.dtype, value.device
        self._storage, self._chain = st, value._chain
        st.add(self)

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

    def clone(self, memory_format=None):
        """A copy with storage of its own (its buffer is shared until either is written,
        which is safe: buffers never change)."""
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


def _scatter_back(base, chain, value):
    """The storage's new root value after writing ``value`` into the view reached from
    ``base`` by ``chain``: each view step undone in reverse (a slice becomes an unslice
    merged over the old values), written with ops so autograd can follow it. The steps
    are re-applied to the base only as far as a slice needs the values before it (the
    other steps need only the shape before them, which their attributes give)."""
    steps = [(op, attrs) for op, attrs in chain if op is not DETACH]
    last = max((i for i, (op, _) in enumerate(steps) if op.name == "slice"), default=-1)
    shapes, befores, cur, shape = [], {}, base, tuple(base.shape)
    for i, (op, attrs) in enumerate(steps):
        shapes.append(shape)
        if i <= last and op.name == "slice":
            befores[i] = cur
        if i < last:
            cur = op.apply(cur, **attrs)
        shape = tuple(shape[d] for d in attrs["dims"]) if op.name == "permute" else \
            tuple(attrs["shape"])       # reshape, expand and slice name their result's shape
    for i in reversed(range(len(steps))):
        op, attrs = steps[i]
        if op.name in ("reshape", "expand"):
            value = Reshape.apply(value, shape=shapes[i])
        elif op.name == "permute":
            inverse = [0] * len(attrs["dims"])
            for j, d in enumerate(attrs["dims"]):
                inverse[d] = j
            value = Permute.apply(value, dims=tuple(inverse))
        else:                                                     # slice
            kw = dict(starts=attrs["starts"], steps=attrs["steps"], shape=shapes[i])
            mask = full(tuple(value.shape), True, device=value.device)
            value = Where.apply(Unslice.apply(mask, value=False, **kw),
                                Unslice.apply(value, value=0, **kw), befores[i])
    return value


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


def _from_numpy(arr, dt, device, requires_grad=False, constant=False):
    dev = _device(device)
    if dt.is_floating_point and not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
        raise TypeError(f"tensor: can't convert numpy dtype {arr.dtype} to {dt}")
    if not (dt.is_floating_point and arr.dtype.kind == "f"):  # floats: the backend decides
        arr = arr.astype(dt.np, copy=False)                      # its precision
    t = Tensor._wrap(dev.backend.from_numpy(arr, dt, constant), arr.shape, dt, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def constant(arr, dtype, device):
    """A tensor of ``arr``, values that follow from shapes and plain arguments alone (a causal
    mask): a call recorded by ``webdl.compile`` keeps it for its replays."""
    return _from_numpy(np.asarray(arr), dtype, device, constant=True)


def from_pixels(array, scale, device=None):
    """An image (a uint8 array) as a float32 tensor of its values times ``scale``; a GPU
    backend uploads the bytes and converts them there (webdl.apps.superres's input)."""
    arr = np.asarray(array)
    if arr.dtype != np.uint8:
        raise TypeError(f"from_pixels: expected a uint8 array, got {arr.dtype}")
    dev = _device(device)
    return Tensor._wrap(dev.backend.from_pixels(arr, scale), arr.shape, dtypes.float32, dev)


def to_pixels(t):
    """A float32 tensor as a uint8 array, each value clamped to 0..255 and rounded half to
    even; a GPU backend converts there and reads back a quarter of the bytes."""
    if t.dtype is not dtypes.float32:
        raise TypeError(f"to_pixels: expected a float32 tensor, got {t.dtype}")
    if INDEX_CHECKS:
        run_index_checks(t.device)
    return t.device.backend.to_pixels(t._realize()._buf, tuple(t.shape))


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
    return _from_numpy(arr, dt, device, requires_grad, constant=True)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    arr = np.linspace(start, end, int(steps), dtype=np.float64)
    return _from_numpy(arr, dtypes.to_dtype(dtype or dtypes.float32), device, requires_grad,
                       constant=True)


def rand(*shape, dtype=None, device=None, requires_grad=False, generator=None):
    shape = _shape_arg(shape)
    arr = _random.generator(generator).random(shape, dtype=np.float32)
    return _from_numpy(arr, dtypes.to_dtype(dtype or dtypes.float32), device, requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False, generator=None):
    shape = _shape_arg(shape)
    arr = _random.generator(generator).standard_normal(shape, dtype=np.float32)
    return _from_numpy(arr, dtypes.to_dtype(dtype or dtypes.float32), device, requires_grad)


def randint(low, high=None, size=None, dtype=None, device=None, generator=None,
            requires_grad=False):
    """``randint(high, size)`` or ``randint(low, high, size)``, as PyTorch."""
    if size is None:
        if not isinstance(high, (tuple, list, Size)):
            raise TypeError("randint: expected a size, as randint(high, size) or "
                            "randint(low, high, size)")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if low >= high:
        raise ValueError(f"randint: low ({low}) must be less than high ({high})")
    size = _shape_arg((size,) if isinstance(size, int) else tuple(size))
    arr = _random.generator(generator).integers(low, high, size=size)
    return _from_numpy(arr, dtypes.to_dtype(dtype or dtypes.int64), device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    arr = np.eye(n, n if m is None else m, dtype=np.float32)
    return _from_numpy(arr, dtypes.to_dtype(dtype or dtypes.float32), device, requires_grad,
                       constant=True)


def randperm(n, dtype=None, device=None, generator=None):
    arr = _random.generator(generator).permutation(n)
    return _from_numpy(arr, dtypes.to_dtype(dtype or dtypes.int64), device)


def as_tensor_like(v, ref):
    """A Python number (or array) as a tensor on ``ref``'s device, with PyTorch's rules for
    scalars: a float scalar with an int tensor gives float32, otherwise the tensor's dtype."""
    if isinstance(v, Tensor):
        return v
    kind = type(v)
    if kind is float:       # the common cases first: isinstance against numbers' ABCs is slow
        dt = ref.dtype if ref.dtype.is_floating_point else dtypes.float32
    elif kind is int:
        dt = ref.dtype if ref.dtype is not dtypes.bool_ else dtypes.int64
    elif isinstance(v, (bool, np.bool_)):
        dt = dtypes.bool_ if ref.dtype is dtypes.bool_ else ref.dtype
    elif isinstance(v, numbers.Integral):
        dt = ref.dtype if ref.dtype is not dtypes.bool_ else dtypes.int64
    elif isinstance(v, numbers.Real):
        dt = ref.dtype if ref.dtype.is_floating_point else dtypes.float32
    else:
        return tensor(v, device=ref.device)
    return Tensor._wrap(ref.device.backend.full(_SCALAR, v, dt), _SCALAR, dt, ref.device)


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

