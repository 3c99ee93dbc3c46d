"""nn.Module and Parameter, with PyTorch's bookkeeping and state_dict semantics."""
import collections
import collections.abc

import numpy as np

from ..autograd import no_grad
from ..replay import CALLED
from ..storage import DETACH, storage_of
from ..tensor import Tensor, tensor as _tensor, zeros


class Parameter(Tensor):
    """A tensor that a Module registers as a learnable parameter: a leaf sharing the
    storage of ``data`` (as in PyTorch, writes to either reach both)."""
    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = zeros(0)
        p = Tensor._wrap.__func__(cls, data._buf, data.shape, data.dtype, data.device)
        st = storage_of(data)
        p._storage, p._chain = st, data._chain + ((DETACH, None),)
        st.add(p)
        p.requires_grad = requires_grad and data.dtype.is_floating_point
        return p

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    def __init__(self):
        object.__setattr__(self, "_parameters", collections.OrderedDict())
        object.__setattr__(self, "_buffers", collections.OrderedDict())
        object.__setattr__(self, "_modules", collections.OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "training", True)

    # --- registration ---------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 f"assigning {name!r}")
        params, bufs, mods = self._parameters, self._buffers, self._modules
        if isinstance(value, (Parameter, Module)):
            for d in (params, bufs, mods):
                d.pop(name, None)
            self.__dict__.pop(name, None)
            (params if isinstance(value, Parameter) else mods)[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter '{name}' "
                                "(webdl.nn.Parameter or None expected)")
            params[name] = None
        elif name in bufs:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer '{name}' "
                                "(Tensor or None expected)")
            bufs[name] = value
        elif name in mods and value is None:
            mods[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            if key in d and name in d[key]:
                return d[key][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for key in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__[key]:
                del self.__dict__[key][name]
                self._non_persistent().discard(name)
                return
        object.__delattr__(self, name)

    def _non_persistent(self):
        return self.__dict__.setdefault("_non_persistent_buffers_set", set())

    def register_parameter(self, name, param):
        if param is None:
            self._parameters[name] = None
        else:
            setattr(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor kept with the module (moved by ``to``); in ``state_dict`` unless
        ``persistent=False``."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("register_buffer: call super().__init__() first")
        if not isinstance(name, str):
            raise TypeError(f"register_buffer: buffer name should be a string, got "
                            f"{type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f"register_buffer: buffer name can't contain '.' or be empty, "
                           f"got {name!r}")
        if name not in self._buffers and (name in self.__dict__ or name in self._parameters
                                          or name in self._modules):
            raise KeyError(f"register_buffer: attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: cannot assign {type(tensor).__name__} object "
                            f"to buffer '{name}' (Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent().discard(name)
        else:
            self._non_persistent().add(name)

    def add_module(self, name, module):
        self._modules[name] = module

    register_module = add_module

    # --- traversal ------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix=""):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix="", recurse=True):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for name, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield mp + ("." if mp else "") + name, p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for name, b in m._buffers.items():
                if b is not None:
                    yield mp + ("." if mp else "") + name, b

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # --- modes ------------------------------------------------------------------------------
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, flag=True):
        for p in self.parameters():
            p.requires_grad_(flag)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad = p.grad * 0.0

    # --- devices --------------------------------------------------------------------------
    def to(self, *args, **kwargs):
        for m in self.modules():
            for d in (m._parameters, m._buffers):
                for k, t in d.items():
                    if t is None:
                        continue
                    moved = t.detach().to(*args, **kwargs)
                    if moved.device != t.device or moved.dtype is not t.dtype:
                        t.data = moved           # the parameter itself, on its new device
                        if t.grad is not None:
                            t.grad = t.grad.to(*args, **kwargs)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        """webdl has no CUDA: raises the device registry's error naming its devices."""
        return self.to("cuda")

    def float(self):
        return self

    def half(self):
        """PyTorch casts to float16; webdl stores floats as float32, so nothing changes."""
        return self

    def bfloat16(self):
        """PyTorch casts to bfloat16; webdl stores floats as float32, so nothing changes."""
        return self

    def double(self):
        """PyTorch casts to float64; webdl stores floats as float32, so nothing changes."""
        return self

    # --- state ----------------------------------------------------------------------------
    def _state_entries(self, prefix=""):
        """(key, module, 'param'/'buffer', local name, tensor) in PyTorch's state_dict
        order: a module's parameters, its persistent buffers, then each child's, recursing
        without deduplication (a module or tensor shared by two paths is under both keys)."""
        skip = self.__dict__.get("_non_persistent_buffers_set", ())
        for name, t in self._parameters.items():
            if t is not None:
                yield prefix + name, self, "param", name, t
        for name, t in self._buffers.items():
            if t is not None and name not in skip:
                yield prefix + name, self, "buffer", name, t
        for name, m in self._modules.items():
            if m is not None:
                yield from m._state_entries(prefix + name + ".")

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An OrderedDict of every parameter and persistent buffer by dotted name
        (``"0.weight"``, ``"bn.running_mean"``), detached unless ``keep_vars``."""
        out = collections.OrderedDict() if destination is None else destination
        for key, _, _, _, t in self._state_entries(prefix):
            out[key] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy parameters and buffers from ``state_dict`` (webdl Tensors, or arrays such as
        numpy's -- a PyTorch checkpoint converted through numpy). Returns
        ``(missing_keys, unexpected_keys)``; with ``strict`` (the default) either one
        raises. A shape mismatch or a value that is not an array always raises, and on any
        error nothing is changed. ``assign=True`` puts the checkpoint's tensors in place of
        the module's (keeping each parameter's ``requires_grad``) instead of copying."""
        if not isinstance(state_dict, collections.abc.Mapping):
            raise TypeError(f"load_state_dict: expected state_dict to be dict-like, got "
                            f"{type(state_dict).__name__}")
        entries = list(self._state_entries())
        own = {key: t for key, _, _, _, t in entries}
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems, mismatched, staged = [], [], {}
        for key, _, _, _, t in entries:
            if key not in state_dict:
                continue
            v = _as_tensor(state_dict[key])
            if v is None:
                problems.append(f"{key}: expected a Tensor or an array in the checkpoint, "
                                f"got {type(state_dict[key]).__name__}")
                continue
            if t.ndim == 0 and tuple(v.shape) == (1,):
                v = v.reshape(())   # PyTorch's rule for old 1-element checkpoints of 0-d
            if tuple(v.shape) != tuple(t.shape):
                mismatched.append(f"{key}: checkpoint {tuple(v.shape)} vs model "
                                  f"{tuple(t.shape)}")
                continue
            staged[key] = v if assign else v.to(dtype=t.dtype).to(t.device)
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if mismatched:
            problems.append("shape mismatch for " + "; ".join(mismatched))
        if problems:
            raise RuntimeError(f"load_state_dict: error(s) loading into {type(self).__name__}: "
                               + ". ".join(problems))
        for key, module, kind, name, t in entries:  # all checked and converted: write them in
            if key not in staged:
                continue
            v = staged[key]
            if not assign:
                with no_grad():
                    t.copy_(v)       # in place: views of t and its storage see the values
            elif kind == "param":
                module._parameters[name] = Parameter(v, requires_grad=t.requires_grad)
            else:
                module._buffers[name] = v
        return _IncompatibleKeys(missing, unexpected)

    # --- calling and printing ---------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        if CALLED:
            CALLED[-1].append(self)
        return self.forward(*args, **kwargs)

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, m in self._modules.items():
            mod = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {mod}")
        main = type(self).__name__ + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __dir__(self):
        return list(super().__dir__()) + list(self._parameters) + list(self._modules) + \
            list(self._buffers)


def _as_tensor(v):
    """A checkpoint value as a detached webdl Tensor: a Tensor, or anything numpy reads as
    a numeric array (numpy arrays, PyTorch tensors); None for anything else."""
    if isinstance(v, Tensor):
        return v.detach()
    if not hasattr(v, "__array__"):
        return None
    if hasattr(v, "detach"):    # a PyTorch tensor that requires grad refuses __array__
        v = v.detach()
    try:
        arr = np.asarray(v)
    except (TypeError, ValueError, RuntimeError):
        return None
    if arr.dtype.kind not in "biuf":
        return None
    return _tensor(arr)


class _IncompatibleKeys(collections.namedtuple("IncompatibleKeys",
                                               ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns, printed as PyTorch prints it."""
    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__
