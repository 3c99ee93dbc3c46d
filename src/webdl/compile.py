"""``webdl.compile``: PyTorch's ``torch.compile`` for webdl -- a call recorded once on the GPU
and replayed without running its Python again.

A compiled module or function runs as itself, except where it can be replayed: on a GPU
backend (WebGL or WebGPU: their bridges record), without autograd (``no_grad``, or nothing requiring grad),
its second call with arguments of the same shapes, dtypes and plain values is recorded
(every allocation, draw or dispatch and free it sends to the bridge) and later calls with
that signature replay the record on their new inputs in one crossing to the bridge -- no
Python per op, no uniforms packed again. The model's parameters and buffers are read where they are.

A record is used only while it must give the result the Python would: the same module
state (parameters and buffers the same tensors with the same contents, the same
``training`` flags and plain attributes) and the same plain values of the globals and
closure variables the function reads. A call that can't be replayed -- it reads values
back to the host (``.item()``, printing, data-dependent Python), makes random numbers, writes
its inputs or parameters in place, reads a tensor made outside it, keeps memory past the
call -- is found when it is recorded; then that signature always runs as plain Python
(``reason`` says why, and a warning says it once). ``stats`` counts the calls of each kind.
"""
import gc
import warnings
from collections import OrderedDict

from .autograd import is_grad_enabled
from .functions.indexing import check_later
from .nn.module import Module
from .tensor import INDEX_CHECKS, Tensor, run_index_checks

_PLAIN = (int, float, bool, str, type(None))
MAX_SIGNATURES = 8     # records kept per compiled object (least recently used dropped)
MAX_FAILURES = 3       # refused records of one signature before it stays plain Python


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,  # noqa: A001
            options=None, disable=False):
    """``torch.compile``: ``model`` (a Module or a function) wrapped to replay its GPU work
    (see the module's docstring). The other arguments are accepted and ignored, as is
    ``disable`` (True returns ``model`` itself). Usable as a decorator, with or without
    arguments."""
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                 mode=mode, options=options, disable=disable)
    if disable:
        return model
    if isinstance(model, Module):
        return OptimizedModule(model)
    if not callable(model):
        raise TypeError(f"webdl.compile: expected a Module or a function, got "
                        f"{type(model).__name__}")
    return CompiledFunction(model)


def _flatten(obj, tensors, key):
    """Append ``obj``'s tensors to ``tensors`` and its signature to ``key``; False when it
    holds something whose value can't be part of a signature."""
    if isinstance(obj, Tensor):
        tensors.append(obj)
        key.append((obj.shape, obj.dtype, obj.device))
        return True
    if isinstance(obj, _PLAIN):
        key.append((type(obj), obj))
        return True
    if isinstance(obj, (tuple, list)):
        key.append((type(obj), len(obj)))
        return all(_flatten(v, tensors, key) for v in obj)
    if isinstance(obj, dict):
        key.append((dict, tuple(obj)))
        return all(isinstance(k, _PLAIN) and _flatten(v, tensors, key) for k, v in obj.items())
    return False


def _rebuild(template, outs):
    """``template`` (the recorded call's result, tensors as their index) with new tensors."""
    if isinstance(template, _Out):
        return outs[template.index]
    if isinstance(template, (tuple, list)):
        return type(template)(_rebuild(v, outs) for v in template)
    if isinstance(template, dict):
        return {k: _rebuild(v, outs) for k, v in template.items()}
    return template


def _aliases(tensors):
    """Which arguments share a buffer (each one's first argument with the same buffer): a
    record made for f(x, x) reads one input where f(x, y) needs two."""
    first = {}
    return tuple(first.setdefault(id(t._buf), j) for j, t in enumerate(tensors))


class _Out:
    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


def _shape_of(result, tensors):
    """The result's structure with each tensor replaced by an _Out (its index in
    ``tensors``); None when it holds something else than tensors and plain values."""
    if isinstance(result, Tensor):
        tensors.append(result)
        return _Out(len(tensors) - 1)
    if isinstance(result, _PLAIN):
        return result
    if isinstance(result, (tuple, list)) and type(result) in (tuple, list):
        parts = [_shape_of(v, tensors) for v in result]
        return None if any(p is None and v is not None for p, v in zip(parts, result)) \
            else type(result)(parts)
    if isinstance(result, dict) and type(result) is dict:
        parts = {k: _shape_of(v, tensors) for k, v in result.items()}
        return None if any(p is None and result[k] is not None for k, p in parts.items()) \
            else parts
    return None


class _Entry:
    """One signature's state: calls seen, then its record (or why there is none)."""
    __slots__ = ("calls", "record", "reason", "state", "kept", "result", "outs", "failures",
                 "checks", "aliases")

    def __init__(self):
        self.calls, self.record, self.reason, self.state, self.failures = 0, None, None, None, 0
        self.checks = None


class CompiledFunction:
    """A function (or a module's ``__call__``) with recorded GPU replays; see ``compile``."""

    def __init__(self, fn, module=None):
        self._fn = fn
        self._module = module
        self._entries = OrderedDict()
        self.stats = {"eager": 0, "recorded": 0, "replayed": 0}
        self.reason = None     # why the last call not replayed was not (None: none so far)
        self._warned = False
        self.__wrapped__ = fn
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    # --- what the call depends on besides its arguments -----------------------------------------
    def _modules(self):
        """The modules whose state the call reads: the compiled module, or the modules among
        the function's globals, closure and bound ``self``."""
        if self._module is not None:
            return [self._module]
        fn = self._fn
        found = []
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, Module):
            found.append(owner)
        for v in self._free_values().values():
            if isinstance(v, Module):
                found.append(v)
        return found

    def _free_values(self):
        fn = getattr(self._fn, "__func__", self._fn)
        code = getattr(fn, "__code__", None)
        if code is None:
            return {}
        g = getattr(fn, "__globals__", {})
        vals = {n: g[n] for n in code.co_names if n in g}
        for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
            try:
                vals[name] = cell.cell_contents
            except ValueError:     # an empty cell
                pass
        return vals

    def _state(self):
        """(the tensors that stay, a signature of everything else the call reads): the
        modules' parameters and buffers with their current buffers, their plain attributes,
        and the plain globals and closure values of a function."""
        kept, sig = [], []
        for top in self._modules():
            for m in top.modules():
                sig.append(id(m))
                for k, v in m.__dict__.items():
                    if isinstance(v, _PLAIN):
                        sig.append((k, v))
                for group in (m._parameters, m._buffers):
                    for k, t in group.items():
                        if t is not None:
                            kept.append(t._realize())
                            sig.append((k, id(t), id(t._buf)))
        if self._module is None:
            for k, v in self._free_values().items():
                if isinstance(v, _PLAIN):
                    sig.append((k, v))
                elif isinstance(v, Tensor):
                    sig.append((k, id(v), id(v._buf)))
        return kept, tuple(sig)

    # --- the call ---------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        tensors, key = [], [is_grad_enabled()]
        if not (_flatten(args, tensors, key) and _flatten(kwargs, tensors, key)) or not tensors:
            return self._eager("its arguments are not tensors and plain values", args, kwargs)
        device = tensors[0].device
        backend = device.backend
        if not getattr(backend, "records", False):
            return self._eager(f"the {device.type} backend does not record GPU work",
                               args, kwargs)
        if any(t.device != device for t in tensors):
            return self._eager("its tensors are on different devices", args, kwargs)
        kept, state = self._state()
        if key[0] and (any(t.requires_grad for t in tensors) or
                       any(t.requires_grad for t in kept)):
            return self._eager("autograd records the call (use no_grad for inference)",
                               args, kwargs)
        if any(t.device != device for t in kept):
            return self._eager("its parameters are on another device", args, kwargs)
        key = tuple(key)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
            while len(self._entries) > MAX_SIGNATURES:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        entry.calls += 1
        if entry.state == state:
            if entry.reason is not None:
                return self._eager(entry.reason, args, kwargs)
            if entry.record is not None:
                out = self._replay(entry, backend, device, tensors)
                if out is not None:
                    return out
        elif entry.failures >= MAX_FAILURES:
            return self._eager(entry.reason, args, kwargs)
        if entry.calls == 1:
            return self._eager(None, args, kwargs)   # the first call compiles and fills caches
        return self._record(entry, backend, tensors, kept, state, args, kwargs)

    def _eager(self, reason, args, kwargs):
        self.stats["eager"] += 1
        if reason is not None:
            self.reason = reason
        return self._fn(*args, **kwargs)

    def _record(self, entry, backend, tensors, kept, state, args, kwargs):
        for t in tensors:
            t._realize()          # (``kept`` was realized by _state)
        device = tensors[0].device
        run_index_checks(device)    # those waiting now: not part of the record
        before = [t._buf for t in tensors] + [t._buf for t in kept]
        backend.record_begin()
        try:
            result = self._fn(*args, **kwargs)
        except BaseException:
            backend.record_cancel()
            raise
        outs = []
        shape = _shape_of(result, outs)
        # index checks the call left waiting (indices it computed): their bounds are one
        # more output, waiting again after each replay
        checks = INDEX_CHECKS.get(device)
        if checks is not None and shape is not None:
            outs.append(checks[0])
        why = None
        if shape is None:
            why = "it returns something other than tensors and plain values"
        elif any(t.requires_grad or t._storage is not None for t in outs):
            why = "it returns a tensor that autograd records or that is a view"
        elif any(t.device.backend is not backend for t in outs):
            why = "it returns tensors of another device"
        if why is None:
            for t in outs:
                t._realize()
            gc.collect()    # intermediates in reference cycles, freed now: not kept past the call
            if any(a is not b for a, b in zip(before, [t._buf for t in tensors] +
                                              [t._buf for t in kept])):
                why = "it writes its inputs, parameters or buffers in place"
        if why is not None:
            backend.record_cancel()
        else:
            unique = list({id(t._buf): t._buf for t in outs}.values())
            rec = backend.record_end(before[:len(tensors)], before[len(tensors):], unique)
            if isinstance(rec, str):
                why = rec
            else:
                # the buffers stay alive with the record: their ids in ``state`` can't be
                # another buffer's while it is compared
                entry.record, entry.state, entry.reason = rec, state, None
                entry.kept = before[len(tensors):]
                entry.aliases = _aliases(tensors)
                entry.result = shape
                where = {id(b): j for j, b in enumerate(unique)}
                entry.outs = [(where[id(t._buf)], t.shape, t.dtype) for t in outs]
                entry.checks = list(checks[1]) if checks is not None else None
                self.stats["recorded"] += 1
                return result
        # a record refused for this state: plain Python while the state stays, and after
        # MAX_FAILURES refusals for good (a state that changes every call, as batch norm's
        # running statistics in train mode, would cost a refused record each call)
        entry.record, entry.state, entry.kept, entry.reason = None, state, None, why
        entry.failures += 1
        self.reason = why
        self.stats["eager"] += 1
        if not self._warned:
            self._warned = True
            warnings.warn(f"webdl.compile: {self.__name__} runs as plain Python (no replay): "
                          f"{why}", stacklevel=3)
        return result

    def _replay(self, entry, backend, device, tensors):
        for t in tensors:
            t._realize()
        if _aliases(tensors) != entry.aliases:     # recorded with other arguments sharing
            return None                            # a buffer: record again
        bufs = backend.replay(entry.record, [t._buf for t in tensors])
        if bufs is None:
            return None
        self.stats["replayed"] += 1
        outs = [Tensor._wrap(bufs[j], shape, dtype, device) for j, shape, dtype in entry.outs]
        if entry.checks is not None:
            check_later(device, outs.pop(), entry.checks)
        return _rebuild(entry.result, outs)


class OptimizedModule(Module):
    """``torch.compile(module)``'s result: calls replay (``CompiledFunction``); the module is
    ``_orig_mod`` (so ``state_dict`` keys start with ``_orig_mod.``, as in PyTorch) and its
    attributes read through."""

    def __init__(self, mod):
        super().__init__()
        self._orig_mod = mod
        object.__setattr__(self, "_compiled", CompiledFunction(mod.__call__, module=mod))

    def __call__(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def forward(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    @property
    def stats(self):
        return self._compiled.stats

    @property
    def reason(self):
        return self._compiled.reason

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["_orig_mod"], name)


__all__ = ["compile", "CompiledFunction", "OptimizedModule"]
