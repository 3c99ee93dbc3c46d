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

A training step -- a function that runs forward, ``backward`` and an optimizer's ``step`` --
records too (``replay.record_step``): the parameters, their gradients, the optimizer's state
and the modules' buffers are read from where they are at each replay and the ones it
replaced are put back, the optimizer's step counts and learning rate are read anew (every
optimizer but RAdam: their step's scalars are host inputs), and its result comes back
without a graph (the backward spent it). The modules and optimizers are those reachable from
the function's arguments, globals, closure and bound ``self`` (``_reachable``) and those its
plain calls ran (``replay.CALLED``); their plain attributes, the optimizers' hyperparameters
but those read anew, and a bound ``self``'s attributes are the signature. A step that
changes host state a replay would not (a hyperparameter, RAdam's step count) is refused.
"""
import types
import warnings
from collections import OrderedDict

from .autograd import is_grad_enabled
from .nn.module import Module
from .optim.optimizer import Optimizer
from .replay import _PLAIN, CALLED, Slot, StepTake, Take, record_call, record_step, replay_call, \
    replay_step
from .tensor import Tensor
# records kept per compiled object (least recently used dropped): enough for an autoregressive
# loop whose context grows one position a call up to 64 (a GPT generating text: each length a
# signature); 8, as torch.compile's recompile limit, left every length below the full context to
# the Python (GPT generation, 200 tokens of a 64 context: 9324 ops a run -> 939, the Python's
# time on CPython 375-550 ms -> 80). A record costs a template of its commands in the bridge.
MAX_SIGNATURES = 64
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


def _flatten(obj, tensors, key, holders):
    """Append ``obj``'s tensors to ``tensors``, its modules and optimizers to ``holders`` and
    its signature to ``key``; False when it holds something whose value can't be part of a
    signature."""
    if isinstance(obj, Tensor):
        tensors.append(obj)
        key.append((obj.shape, obj.dtype, obj.device))
        return True
    if isinstance(obj, (Module, Optimizer)):
        holders.append(obj)
        key.append((type(obj), id(obj)))
        return True
    if isinstance(obj, _PLAIN):
        key.append((type(obj), obj))
        return True
    if isinstance(obj, (tuple, list)):
        key.append((type(obj), len(obj)))
        return all(_flatten(v, tensors, key, holders) for v in obj)
    if isinstance(obj, dict):
        key.append((dict, tuple(obj)))
        return all(isinstance(k, _PLAIN) and _flatten(v, tensors, key, holders)
                   for k, v in obj.items())
    return False


def _free_values(fn):
    """The values of the globals and closure variables that function ``fn``'s code names."""
    fn = getattr(fn, "__func__", fn)
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


REACH_DEPTH = 3     # steps from the function to the modules and optimizers it reaches
REACH_ITEMS = 64    # elements of a list, tuple or dict looked into


def _reachable(roots):
    """The modules and optimizers reachable from ``roots``: themselves, or through functions
    (their globals, closure and bound ``self``), lists, tuples, dicts and plain objects'
    attributes, within REACH_DEPTH steps (a step function's ``loss_fn`` lambda reaches the
    model its closure holds). Python modules and classes are not looked into."""
    found, seen, stack = [], set(), [(v, 0) for v in reversed(roots)]
    while stack:
        v, depth = stack.pop()
        if id(v) in seen or isinstance(v, _PLAIN + (Tensor, type, types.ModuleType)):
            continue
        seen.add(id(v))
        if isinstance(v, (Module, Optimizer)):
            found.append(v)
            continue
        if depth >= REACH_DEPTH:
            continue
        if isinstance(v, (types.FunctionType, types.MethodType)):
            nxt = list(_free_values(v).values())
            if isinstance(v, types.MethodType):
                nxt.append(v.__self__)
        elif isinstance(v, (list, tuple)):
            nxt = list(v[:REACH_ITEMS])
        elif isinstance(v, dict):
            nxt = list(v.values())[:REACH_ITEMS]
        elif isinstance(getattr(v, "__dict__", None), dict):
            nxt = list(v.__dict__.values())[:REACH_ITEMS]
        else:
            continue
        stack.extend((x, depth + 1) for x in reversed(nxt))
    return found


def _modules_of(tops):
    """The modules of ``tops`` and their submodules, each once."""
    seen = {}
    for top in tops:
        for m in top.modules():
            seen.setdefault(id(m), m)
    return list(seen.values())


def _value_sig(v):
    """A piece of state in a training step's signature: a tensor's shape, dtype and device
    (its values change every step), else the type alone (a step count, advanced by the
    step's host inputs: any other change refuses the record)."""
    if isinstance(v, Tensor):
        return v.shape, v.dtype, v.device
    return type(v)


class _Entry:
    """One signature's state: calls seen, then its record (a Take, or why there is none),
    and the modules and optimizers its plain calls ran (their state is part of its
    signature)."""
    __slots__ = ("calls", "take", "reason", "state", "failures", "called")

    def __init__(self):
        self.calls, self.take, self.reason, self.state, self.failures = 0, None, None, None, 0
        self.called = []


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
    def _found(self, given=()):
        """(the modules, the optimizers) whose state the call reads: those reachable
        (``_reachable``) from the arguments and objects its plain calls ran (``given``), the
        function's globals and closure and its bound ``self`` (a compiled module's own)."""
        found = _reachable(list(given) + [self._fn])
        return ([h for h in found if isinstance(h, Module)],
                [h for h in found if isinstance(h, Optimizer)])

    def _free_values(self):
        """The function's globals and closure values, and its bound ``self``'s attributes
        (``self.<name>``) where ``self`` is not a module (a trainer's step counter is part
        of the signature: a replay would not count)."""
        vals = _free_values(self._fn)
        owner = getattr(self._fn, "__self__", None)
        if not isinstance(owner, Module) and isinstance(getattr(owner, "__dict__", None), dict):
            vals.update({"self." + k: v for k, v in owner.__dict__.items()})
        return vals

    def _state(self, modules):
        """(the tensors that stay, a signature of everything else the call reads): the
        modules' parameters and buffers with their current buffers, their plain attributes,
        and the plain globals and closure values of a function."""
        kept, sig = [], []
        for m in _modules_of(modules):
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

    def _step_state(self, modules, optimizers):
        """A training step's (state slots, signature): the modules' parameters and buffers,
        each parameter's gradient, the optimizers' per-parameter state -- in the signature by
        identity, shape and dtype, not by value -- and the plain values the step keeps (the
        modules' attributes, the optimizers' hyperparameters but those they read anew, the
        function's plain globals and closure values)."""
        slots, sig, params = [], [], {}
        for m in _modules_of(modules):
            sig.append(id(m))
            sig.extend((k, v) for k, v in m.__dict__.items() if isinstance(v, _PLAIN))
            for group in (m._parameters, m._buffers):
                for k, t in group.items():
                    sig.append((k, id(t), _value_sig(t)))
                    if t is not None:
                        slots.append(Slot(group, k))
            for t in m._parameters.values():
                if t is not None:
                    params[id(t)] = t
        for opt in optimizers:
            sig.append(id(opt))
            for g in opt.param_groups:
                sig.append(tuple((k, v) for k, v in g.items()
                                 if k != "params" and k not in opt.replay_reads))
                sig.append(tuple(id(p) for p in g["params"]))
                # host state: a hyperparameter the step itself changes (a scheduler stepped
                # inside it) refuses the record -- a replay would not change it
                slots.extend(Slot(g, k) for k in g if k != "params")
                for p in g["params"]:
                    params[id(p)] = p
            for p, st in opt.state.items():
                sig.append((id(p), id(st), tuple((k, _value_sig(v)) for k, v in st.items())))
                slots.extend(Slot(st, k) for k in st)
        for p in params.values():
            sig.append(_value_sig(p.grad) if p.grad is not None else None)
            slots.append(Slot(p, "grad", attr=True))
        if self._module is None:
            for k, v in self._free_values().items():
                if isinstance(v, _PLAIN):
                    sig.append((k, v))
        return slots, tuple(sig)

    # --- the call ---------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        tensors, key, holders = [], [is_grad_enabled()], []
        if not (_flatten(args, tensors, key, holders) and
                _flatten(kwargs, tensors, key, holders)) or not tensors:
            return self._eager("its arguments are not tensors and plain values", args, kwargs)
        device = tensors[0].device
        backend = device.backend
        if not getattr(backend, "records", False):
            return self._eager(f"the {device.type} backend does not record GPU work",
                               args, kwargs)
        if any(t.device != device for t in tensors):
            return self._eager("its tensors are on different devices", args, kwargs)
        key = tuple(key)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
            while len(self._entries) > MAX_SIGNATURES:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        modules, optimizers = self._found(holders + entry.called)
        step = key[0] and (bool(optimizers) or any(t.requires_grad for t in tensors) or
                           any(p is not None and p.requires_grad
                               for m in _modules_of(modules) for p in m._parameters.values()))
        if step:        # a training step: its state read and replaced through slots
            if backend.storage != "float32":
                return self._eager("autograd records the call, and on this GPU's float16 "
                                   "path a training step does not replay", args, kwargs)
            kept, state = [], self._step_state(modules, optimizers)[1]
        else:
            kept, state = self._state(modules)
        if any(t.device != device for t in kept):
            return self._eager("its parameters are on another device", args, kwargs)
        entry.calls += 1
        if entry.state == state:
            if entry.reason is not None:
                return self._eager(entry.reason, args, kwargs)
            if entry.take is not None:
                out = replay_step(backend, entry.take, tensors) if step else \
                    replay_call(backend, entry.take, tensors)
                if out is not None:
                    self.stats["replayed"] += 1
                    return out
        elif entry.failures >= MAX_FAILURES:
            return self._eager(entry.reason, args, kwargs)
        if entry.calls == 1:    # the first call compiles, fills caches, finds the modules
            self.stats["eager"] += 1
            return self._logged(entry, lambda: self._fn(*args, **kwargs))
        call = lambda: self._logged(entry, lambda: self._fn(*args, **kwargs))  # noqa: E731
        known = len(entry.called)
        if step:
            result, take = record_step(
                backend, tensors, lambda: self._step_state(modules, optimizers)[0], call)
        else:
            result, take = record_call(backend, tensors, kept, call)
        if len(entry.called) != known:      # it ran modules its signature did not hold
            entry.state = None              # (recorded again, with them, next call)
            self.stats["eager"] += 1
            return result
        return self._recorded(entry, state, result, take)

    @staticmethod
    def _logged(entry, fn):
        """``fn()``, the modules and optimizers it runs added to ``entry.called``."""
        log = []
        CALLED.append(log)
        try:
            return fn()
        finally:
            CALLED.pop()
            seen = {id(m) for m in entry.called}
            for m in log:
                if id(m) not in seen:
                    seen.add(id(m))
                    entry.called.append(m)

    def _eager(self, reason, args, kwargs):
        self.stats["eager"] += 1
        if reason is not None:
            self.reason = reason
        return self._fn(*args, **kwargs)

    def _recorded(self, entry, state, result, take):
        if isinstance(take, (Take, StepTake)):
            entry.take, entry.state, entry.reason = take, state, None
            self.stats["recorded"] += 1
            return result
        # a record refused for this state: plain Python while the state stays, and after
        # MAX_FAILURES refusals for good (a state that changes every call, as batch norm's
        # running statistics in train mode, would cost a refused record each call)
        entry.take, entry.state, entry.reason = None, state, take
        entry.failures += 1
        self.reason = take
        self.stats["eager"] += 1
        if not self._warned:
            self._warned = True
            warnings.warn(f"webdl.compile: {self.__name__} runs as plain Python (no replay): "
                          f"{take}", stacklevel=3)
        return result


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
