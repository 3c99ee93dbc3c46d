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
"""
import gc
from collections import OrderedDict

from .functions.indexing import check_later
from .tensor import INDEX_CHECKS, Tensor, run_index_checks

_PLAIN = (int, float, bool, str, type(None))


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


def aliases(tensors):
    """Which arguments share a buffer (each one's first argument with the same buffer): a
    record made for f(x, x) reads one input where f(x, y) needs two."""
    first = {}
    return tuple(first.setdefault(id(t._buf), j) for j, t in enumerate(tensors))


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


def record_call(backend, tensors, kept, call):
    """Run ``call()`` -- which reads the tensors ``tensors`` (its arguments) and ``kept``
    (parameters, realized) -- recording its GPU work: (its result, a Take or the reason
    none can be made)."""
    for t in tensors:
        t._realize()
    device = tensors[0].device
    run_index_checks(device)    # those waiting now: not part of the record
    before = [t._buf for t in tensors] + [t._buf for t in kept]
    backend.record_begin()
    try:
        result = call()
    except BaseException:
        backend.record_cancel()
        raise
    outs = []
    shape = _shape_of(result, outs)
    # index checks the call left waiting (indices it computed): their bounds are one more
    # output, waiting again after each replay
    checks = INDEX_CHECKS.get(device)
    if checks is not None and shape is not None:
        outs.append(checks[0])
    why = None
    if shape is None:
        why = "it returns something other than tensors and plain values"
    elif any(t.requires_grad for t in outs):
        why = "it returns a tensor that autograd records"
    elif any(t.device.backend is not backend for t in outs):
        why = "it returns tensors of another device"
    if why is None:
        for t in outs:
            t._realize()
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
    take.aliases = aliases(tensors)
    where = {id(b): j for j, b in enumerate(unique)}
    take.outs = [(where[id(t._buf)], t.shape, t.dtype) for t in outs]
    take.checks = list(checks[1]) if checks is not None else None
    return result, take


def replay_call(backend, take, tensors):
    """The Take run on new arguments: its result, or None when it can't run (the arguments
    share buffers otherwise than when it was recorded, or the GPU context is gone)."""
    for t in tensors:
        t._realize()
    if aliases(tensors) != take.aliases:
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
