"""A call's GPU work recorded once and replayed on new inputs: the core that ``webdl.compile``
and the recurrent layers' time steps share.

On a backend that records (WebGL, WebGPU: ``backend.records``), ``record_call`` runs a call
while the bridge keeps every allocation, draw or dispatch and free it sends; the result is a
:class:`Take` that ``replay_call`` runs again on other input buffers in one crossing to the
bridge, with no Python per op. A call whose work can't be replayed -- it reads values back,
uploads host data, writes its inputs in place, reads a tensor it was not given, keeps memory
past the call -- gives a string saying why instead.

:class:`Replayed` wraps a function of tensors alone (no state besides its arguments, as a
recurrent layer's step): plain calls on other backends, and on a recording one its second
call with a shape signature is recorded and later ones replay.

``record_step`` / ``replay_step`` do the same for a training step, which reads and replaces
state that outlives it (see "Training steps" below).
"""
import gc
from collections import OrderedDict

from .autograd import BACKWARDS, no_grad
from .tensor import Tensor, check_later, joined_index_checks, run_index_checks, tensor

_PLAIN = (int, float, bool, str, type(None))

# Open logs (a stack of lists) of the objects whose state a call reads as they run: modules
# as they are called, optimizers as they step. webdl.compile notes them, so their state is
# part of a record's signature wherever the call found them.
CALLED = []


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


def _rebuild(template, outs):
    """``template`` (the recorded call's result, tensors as their index) with new tensors."""
    if isinstance(template, _Out):
        return outs[template.index]
    if isinstance(template, (tuple, list)):
        return type(template)(_rebuild(v, outs) for v in template)
    if isinstance(template, dict):
        return {k: _rebuild(v, outs) for k, v in template.items()}
    return template


def aliases(bufs):
    """Which inputs share a buffer (each one's first input with the same buffer): a record
    made for f(x, x) reads one input where f(x, y) needs two."""
    first = {}
    return tuple(first.setdefault(id(b), j) for j, b in enumerate(bufs))


def _shared(t):
    """Whether ``t`` shares its storage with another live tensor (a replay's outputs are
    tensors of their own): it is a view, or views of it outlive the call."""
    st = t._storage
    return st is not None and (bool(t._chain) or len(st.members()) > 1)


class Take:
    """A recorded call: the backend's record, the result's structure, its outputs (record
    output, shape, dtype), the index checks it leaves waiting, the buffers it keeps reading
    (parameters) and how its arguments shared buffers."""
    __slots__ = ("record", "result", "outs", "checks", "kept", "aliases")


def _recording(backend, call):
    """``call()`` with the backend recording its GPU work (the record cancelled if it
    raises)."""
    backend.record_begin()
    try:
        return call()
    except BaseException:
        backend.record_cancel()
        raise


def _result_problem(shape, outs, backend, graph):
    """Why a recorded call's result (structure ``shape``, tensors ``outs``) can't be replayed,
    or None; ``graph``: why it can't hold a tensor that autograd records (None: it may)."""
    if shape is None:
        return "it returns something other than tensors and plain values"
    if graph is not None and any(t.requires_grad for t in outs):
        return graph
    if any(t.device.backend is not backend for t in outs):
        return "it returns tensors of another device"
    return None


def record_call(backend, tensors, kept, call):
    """Run ``call()`` -- which reads the tensors ``tensors`` (its arguments) and ``kept``
    (parameters, realized) -- recording its GPU work: (its result, a Take or the reason
    none can be made)."""
    Tensor._realize_all(*tensors)
    device = tensors[0].device
    run_index_checks(device)    # those waiting now: not part of the record
    before = [t._buf for t in tensors] + [t._buf for t in kept]
    result = _recording(backend, call)
    outs = []
    shape = _shape_of(result, outs)
    # index checks the call left waiting (indices it computed): their bounds are one more
    # output, waiting again after each replay
    checks = joined_index_checks(device) if shape is not None else None
    if checks is not None:
        outs.append(checks[0])
    why = _result_problem(shape, outs, backend, "it returns a tensor that autograd records")
    if why is None:
        Tensor._realize_all(*outs)
        gc.collect()    # intermediates in reference cycles, freed now: not kept past the call
        if any(a is not b for a, b in zip(before, [t._buf for t in tensors] +
                                          [t._buf for t in kept])):
            why = "it writes its inputs, parameters or buffers in place"
        elif any(_shared(t) for t in outs):
            why = "it returns a view, or a tensor with views that outlive the call"
    if why is not None:
        backend.record_cancel()
        return result, why
    unique = list({id(t._buf): t._buf for t in outs}.values())
    rec = backend.record_end(before[:len(tensors)], before[len(tensors):], unique)
    if isinstance(rec, str):
        return result, rec
    take = Take()
    # the kept buffers stay alive with the record: their ids in a caller's state signature
    # can't be another buffer's while it is compared
    take.record, take.kept, take.result = rec, before[len(tensors):], shape
    take.aliases = aliases([t._buf for t in tensors])
    where = {id(b): j for j, b in enumerate(unique)}
    take.outs = [(where[id(t._buf)], t.shape, t.dtype) for t in outs]
    take.checks = list(checks[1]) if checks is not None else None
    return result, take


def replay_call(backend, take, tensors):
    """The Take run on new arguments: its result, or None when it can't run (the arguments
    share buffers otherwise than when it was recorded, or the GPU context is gone)."""
    Tensor._realize_all(*tensors)
    if aliases([t._buf for t in tensors]) != take.aliases:
        return None
    bufs = backend.replay(take.record, [t._buf for t in tensors])
    if bufs is None:
        return None
    device = tensors[0].device
    outs = [Tensor._wrap(bufs[j], shape, dtype, device) for j, shape, dtype in take.outs]
    if take.checks is not None:
        check_later(device, outs.pop(), take.checks)
    return _rebuild(take.result, outs)


class Replayed:
    """``fn(*tensors)`` (tensors in, tensors out, nothing read but its arguments and plain
    constants of its code) run plainly on a backend that doesn't record; on one that does,
    its second call with a signature (shapes, dtypes, device, and ``static``) is recorded
    and later calls with it replay. A refused record leaves that signature to plain calls.
    With ``static`` (plain values, hashable) the call is ``fn(static, *tensors)``."""

    MAX_SIGNATURES = 16

    def __init__(self, fn):
        self.fn = fn
        self.takes = OrderedDict()      # signature -> 1 (seen once), a Take or False

    def __call__(self, *tensors, static=None):
        device = tensors[0].device
        backend = device.backend
        call = (lambda: self.fn(*tensors)) if static is None else \
            (lambda: self.fn(static, *tensors))
        if not backend.records or backend.recording():    # inside a record: part of it
            return call()
        key = (device, static) + tuple([(t.shape, t.dtype) for t in tensors])
        take = self.takes.get(key)
        if take is None:
            self.takes[key] = 1
            while len(self.takes) > self.MAX_SIGNATURES:
                self.takes.popitem(last=False)
            return call()
        if take is False:
            return call()
        if isinstance(take, Take):
            out = replay_call(backend, take, tensors)
            if out is not None:
                return out
        result, take = record_call(backend, tensors, (), call)
        self.takes[key] = take if isinstance(take, Take) else False
        return result


# --- Training steps -------------------------------------------------------------------------
# A training step reads and replaces state that outlives it: the parameters (written in place
# by the optimizer), their gradients, the optimizer's moments, a module's running statistics.
# Recorded, each piece of state is a Slot: the tensor in it before the call is an input of
# the record, the tensor in it after (when the call replaced or rewrote it) an output, put back
# into the slot after each replay. Values the call computes on the host from state that
# changes every call (an optimizer's step count and learning rate: its bias corrections) are
# host inputs (``host_tensor``): the function that makes them runs again before each replay
# and its array is uploaded. Any other change of host state makes the record unusable.

class Slot:
    """Where a piece of state lives: ``obj.<name>`` (``attr``) or ``obj[name]`` (a dict)."""
    __slots__ = ("obj", "name", "attr")

    def __init__(self, obj, name, attr=False):
        self.obj, self.name, self.attr = obj, name, attr

    def get(self):
        return getattr(self.obj, self.name, None) if self.attr else self.obj.get(self.name)

    def set(self, value):
        if self.attr:
            setattr(self.obj, self.name, value)
        elif value is None:
            self.obj.pop(self.name, None)
        else:
            self.obj[self.name] = value

    def key(self):
        return id(self.obj), self.name


_HOST = []  # per training step being recorded: its host inputs, [(make, tensor, owns)]


def recording_step(device):
    """Whether a training step is being recorded on ``device`` (see host_tensor)."""
    return bool(_HOST) and device.backend.recording()


def host_tensor(make, device, owns=()):
    """A tensor of ``make()`` (a float32 array computed on the host, as an optimizer's step
    scalars) on ``device``. In a training step being recorded it is an input of the record,
    and ``make`` runs again before each replay: it may advance host state, the (dict, key)
    entries ``owns`` (a step count), and nothing else."""
    backend = device.backend
    if _HOST and backend.recording():
        t = backend.unrecorded(lambda: tensor(make(), device=device))
        _HOST[-1].append((make, t, tuple(owns)))
        return t
    return tensor(make(), device=device)


def _on(v, device):
    return isinstance(v, Tensor) and v.device == device


def _host_value(v):
    """A piece of host state as compared before and after a recorded step."""
    if isinstance(v, Tensor):
        return v.shape, v.dtype, tuple(v.detach().numpy().ravel().tolist())
    return v


class StepTake:
    """A recorded training step: the backend's record, the result's structure, its outputs
    (record output, shape, dtype), the state slots read ((slot, shape, dtype), inputs after
    the arguments), what each replay puts into the slots ((kind, slot, record output, shape,
    dtype); kind "set", "write" in place, or "none"), the host inputs ((make, owns), inputs
    last), how the inputs shared buffers and the index checks left waiting."""
    __slots__ = ("record", "result", "outs", "state", "actions", "host", "aliases", "checks")


def record_step(backend, tensors, slots, call):
    """Run ``call()`` -- a training step reading the tensors ``tensors`` (its arguments) and the
    state in ``slots()`` (the Slots it may read or replace; asked again after the call, which
    may add some) -- recording its GPU work: (its result, a StepTake or why none can be made).
    The result's tensors that autograd recorded come back detached: the step ran backward,
    which spent their graph."""
    Tensor._realize_all(*tensors)
    device = tensors[0].device
    run_index_checks(device)
    before = {}
    now = [(s, s.get()) for s in slots()]
    Tensor._realize_all(*[v for _, v in now if _on(v, device)])
    for s, v in now:
        before[s.key()] = (s, v, v._buf if _on(v, device) else _host_value(v))
    args = [t._buf for t in tensors]
    backwards, host = BACKWARDS[0], []
    _HOST.append(host)
    try:
        result = _recording(backend, call)
    finally:
        _HOST.pop()
    outs = []
    shape = _shape_of(result, outs)
    why = _result_problem(shape, outs, backend, None if BACKWARDS[0] != backwards else
                          "it returns a tensor that autograd records and runs no backward")
    if why is None and any(_shared(t) for t in outs):
        why = "it returns a view, or a tensor with views that outlive the call"
    plain = result      # what a refused record returns: the call's own result
    if why is None:
        Tensor._realize_all(*outs)
        outs = [Tensor._wrap(t._buf, t.shape, t.dtype, device) for t in outs]
        result = _rebuild(shape, outs)
        checks = joined_index_checks(device)
        if checks is not None:
            outs.append(checks[0])
        why, state, actions = _state_changes(before, slots(), device, host)
    if why is None:
        plain = None    # the spent graph and other intermediates in reference cycles freed
        gc.collect()
        if any(a is not t._buf for a, t in zip(args, tensors)):
            why = "it writes its arguments in place"
    if why is not None:
        backend.record_cancel()
        return (result if plain is None else plain), why
    unique = list({id(t._buf): t._buf for t in outs}.values())
    for a in actions:
        if a[2] is not None and all(b is not a[2] for b in unique):
            unique.append(a[2])
    inputs = args + [b for _, b, _, _ in state]
    hosts = [t._buf for _, t, _ in host]
    rec = backend.record_end(inputs + hosts, (), unique,
                             [b for _, b, _, _ in state] + hosts)
    if isinstance(rec, str):
        return result, rec
    where = {id(b): j for j, b in enumerate(unique)}
    take = StepTake()
    take.record, take.result = rec, shape
    take.outs = [(where[id(t._buf)], t.shape, t.dtype) for t in outs]
    take.state = [(s, shp, dt) for s, _, shp, dt in state]
    take.actions = [(kind, s, None if b is None else where[id(b)], shp, dt)
                    for kind, s, b, shp, dt in actions]
    take.host = [(make, owns) for make, _, owns in host]
    take.aliases = aliases(inputs)
    take.checks = list(checks[1]) if checks is not None else None
    return result, take


def _state_changes(before, after, device, host):
    """(why the step can't be replayed or None, the state it reads as [(slot, buffer, shape,
    dtype)], what it put into the slots as [(kind, slot, buffer, shape, dtype)])."""
    owned = {(id(d), k) for _, _, owns in host for d, k in owns}
    slots = {s.key(): s for s in after}
    for key, (s, _, _) in before.items():
        slots.setdefault(key, s)
    state, actions = [], []
    Tensor._realize_all(*[v for v in (s.get() for s in slots.values()) if _on(v, device)])
    for key, s in slots.items():
        _, v0, b0 = before.get(key, (s, None, None))
        v1 = s.get()
        if _on(v0, device):
            state.append((s, b0, v0.shape, v0.dtype))
        if _on(v1, device):
            if v1 is v0:
                if v1._buf is not b0:
                    actions.append(("write", s, v1._buf, v1.shape, v1.dtype))
            elif v1.requires_grad:
                return f"it puts a tensor autograd records into its state ({s.name!r})", \
                    None, None
            else:
                if _shared(v1):     # a view (a gradient read through a transpose): its
                    with no_grad():  # values copied, in the record, into a tensor of its own
                        v1 = v1.clone()._realize()
                    s.set(v1)
                actions.append(("set", s, v1._buf, v1.shape, v1.dtype))
        elif v1 is None:
            if v0 is not None:
                actions.append(("none", s, None, None, None))
        elif _on(v0, device) or (_host_value(v1) != b0 and key not in owned):
            hint = " (an optimizer that counts its steps on the host)" if s.name == "step" \
                else ""
            return f"it changes state on the host that a replay would not: {s.name!r}{hint}", \
                None, None
    return None, state, actions


def replay_step(backend, take, tensors):
    """The StepTake run on new arguments and the state now in its slots: its result, or None
    when it can't run (the state or the arguments' sharing differ from the record's, or the
    GPU context is gone); the host state its host inputs advanced is then as it was."""
    Tensor._realize_all(*tensors)
    state = []
    for s, shape, dtype in take.state:
        v = s.get()
        if not isinstance(v, Tensor) or v.shape != shape or v.dtype != dtype:
            return None
        state.append(v)
    Tensor._realize_all(*state)
    inputs = [t._buf for t in list(tensors) + state]
    if aliases(inputs) != take.aliases:
        return None
    device = tensors[0].device
    saved = [(d, k, d.get(k)) for _, owns in take.host for d, k in owns]
    host = [tensor(make(), device=device) for make, _ in take.host]
    bufs = backend.replay(take.record, inputs + [t._buf for t in host])
    if bufs is None:
        for d, k, v in saved:
            d[k] = v
        return None
    with no_grad():
        for kind, s, j, shape, dtype in take.actions:
            if kind == "none":
                s.set(None)
            elif kind == "set":
                s.set(Tensor._wrap(bufs[j], shape, dtype, device))
            else:
                s.get().copy_(Tensor._wrap(bufs[j], shape, dtype, device))
    outs = [Tensor._wrap(bufs[j], shape, dtype, device) for j, shape, dtype in take.outs]
    if take.checks is not None:
        check_later(device, outs.pop(), take.checks)
    return _rebuild(take.result, outs)
