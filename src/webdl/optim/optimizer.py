"""The Optimizer base class with PyTorch's bookkeeping (parameter groups, per-parameter
state keyed by the parameter, ``state_dict`` in PyTorch's layout) and the helpers every
update rule shares.

An update rule is a chain of elementwise tensor ops on the gradient, the old state and
the parameter; ``_commit`` then computes the new state tensors and the new parameter
together (one kernel on WebGL, where elementwise chains are fused) and writes the
parameter. ``_commit`` is the one place optimizers write parameters.
"""
import collections

import numpy as np

from ..autograd import enable_grad
from ..replay import CALLED, host_tensor, recording_step
from ..tensor import Tensor, tensor, zeros_like, full_like
from .. import dtypes


class _RequiredParameter:
    """The default of a hyperparameter every group must give (PyTorch's ``required``)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


# --- helpers of the update rules ------------------------------------------------------------
def _commit(param, new, *state):
    """Write ``new`` into ``param`` in place (views of it and its storage see it), its new
    ``state`` tensors held with it (lazy expressions on a GPU: computed together with the
    step's other writes, see Backend.settle; where views of the parameter live, which read
    it at once, computed now in one kernel). Every optimizer writes its parameters here."""
    st = param._storage
    if st is not None and any(t._chain for t in st.members()):
        Tensor._realize_all(*state, new)    # its views read it now: one kernel for all
    else:
        be = param.device.backend
        for t in state:
            t._buf = be.settle(t._buf)
    param.copy_(new)


def _replays(p):
    """Whether the step of ``p`` runs as part of one replayed call (``webdl.replay``): on a
    GPU backend that records and stores float32 (on the float16 path the step's scalars,
    uploaded as a tensor, would be rounded to float16)."""
    be = p.device.backend
    return be.records and be.storage == "float32"


def _replayed_step(updates, static, scalars, tensors, owns=()):
    """A fused optimizer step: ``updates`` (a ``Replayed`` function of the scalars tensor
    and ``tensors``) called with ``scalars()`` (per parameter, a row: made from the
    hyperparameters and step counts read when it runs, advancing the step counts ``owns``)
    uploaded as one float32 tensor on the parameters' device (a host input of a recorded
    training step: made again for each replay), and ``static`` (per parameter, plain values)
    as its signature. Returns its outputs."""
    s = host_tensor(lambda: np.asarray(scalars(), dtype=np.float32), tensors[0].device, owns)
    return updates(s, *tensors, static=tuple(static))


def _closure_loss(closure):
    """The loss of an optimizer's ``closure`` (run with grad enabled, as in PyTorch: it
    usually calls ``backward``)."""
    if closure is None:
        return None
    with enable_grad():
        return closure()


def _scalar(v):
    """A hyperparameter or a step count as a Python number (a 1-element tensor allowed)."""
    return v.item() if isinstance(v, Tensor) else v


def _next_step(state):
    """Count a step in ``state["step"]``, kept as PyTorch keeps it: a float32 0-d tensor on
    the host. Returns the new count as a Python float."""
    t = float(_scalar(state.get("step", 0))) + 1.0
    state["step"] = _host_scalar(t)
    return t


def _step_scalars(items, row, keys=("step",)):
    """Per (group, parameter, gradient, state) of ``items`` the scalars of its step that
    change between steps -- ``row(group, state)``: a tuple of floats made from the learning
    rate and the step count, which it advances -- as Python floats; inside a training step
    being recorded (webdl.compile) as the elements of one host tensor, an input of the
    record made again before each replay (the counts advanced, the learning rate read then),
    so a replayed step sees what the Python would. The optimizers that count steps on the
    host write their updates with these (Adam and SGD have fused steps of their own);
    ``keys``: the entries of the state that ``row`` advances."""
    # what a replay makes them from: the groups and the state dicts, not the tensors (the
    # record keeps this function: a gradient it held would outlive the step)
    pairs = [(g, st) for g, _, _, st in items]

    def make():
        return [row(g, st) for g, st in pairs]
    if not items:
        return []
    device = items[0][1].device
    if any(p.device != device for _, p, _, _ in items) or not recording_step(device):
        return make()
    s = host_tensor(lambda: np.asarray(make(), dtype=np.float32), device,
                    [(st, k) for _, st in pairs for k in keys])
    return [tuple(s[i, j] for j in range(s.shape[1])) for i in range(s.shape[0])]


def _neg_lr(g, st):
    """_step_scalars' row of an optimizer whose step reads the learning rate alone."""
    _next_step(st)
    return (-_scalar(g["lr"]),)


def _host_scalar(v):
    return tensor(np.float32(v), dtype=dtypes.float32, device="cpu")


def _copy(t):
    """A tensor with its own memory holding the values of ``t`` (a new state tensor must
    not share the gradient's memory: ``zero_grad(set_to_none=False)`` zeroes that)."""
    return t * 1.0


def _lerp(start, end, weight):
    """``torch.lerp(start, end, weight)`` for a Python weight, in PyTorch's two forms (the
    one it picks decides the float32 rounding)."""
    if abs(weight) < 0.5:
        return start + (end - start) * weight
    return end - (end - start) * (1.0 - weight)


def _zeros(p):
    return zeros_like(p.detach())


def _full(p, value):
    return full_like(p.detach(), value)


def _check_flags(name, differentiable=False):
    if differentiable:
        raise NotImplementedError(f"{name}: differentiable=True (autograd through the "
                                  "optimizer step) is not supported by webdl")


def _check_range(name, **checks):
    """``checks``: {label: (value, ok)}; raises PyTorch's 'Invalid ...' ValueError."""
    for label, (value, ok) in checks.items():
        if not ok:
            raise ValueError(f"{name}: Invalid {label}: {value}")


def _copy_tree(v):
    if isinstance(v, dict):
        return {k: _copy_tree(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_copy_tree(x) for x in v]
    return v


def _as_state_tensor(v):
    """A state value loaded from a state dict: webdl tensors stay, arrays (numpy, or a
    PyTorch tensor through ``__array__``) become webdl tensors."""
    if isinstance(v, Tensor) or isinstance(v, (bool, int, float, str, type(None))):
        return v
    if hasattr(v, "__array__"):
        if hasattr(v, "detach"):
            v = v.detach()
        arr = np.asarray(v.cpu() if hasattr(v, "cpu") else v)
        if arr.dtype.kind in "biuf":
            return tensor(arr)
    return v


class Optimizer:
    """The base of the optimizers: ``params`` is an iterable of tensors, of
    ``(name, tensor)`` pairs or of parameter-group dicts; ``defaults`` the hyperparameters
    a group takes when it doesn't give them."""

    # hyperparameters a recorded training step (webdl.compile) reads anew at each replay
    # instead of keeping the values it was recorded with: the fused steps' (SGD, Adam, AdamW)
    # read the learning rate when they make their scalars (``_replayed_step``)
    replay_reads = ()

    def __init__(self, params, defaults):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params argument given to the optimizer should be an "
                            "iterable of Tensors or dicts, but got webdl.Tensor")
        self.defaults = defaults
        self.state = collections.defaultdict(dict)
        self.param_groups = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)
        if not any(p.requires_grad for g in self.param_groups for p in g["params"]):
            shapes = [tuple(p.shape) for g in self.param_groups for p in g["params"]]
            raise ValueError(f"{name}: no parameter requires grad (a parameter of shape "
                             f"{shapes[0]} does not require grad), so step() could never "
                             "change one")

    def __repr__(self):
        s = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"

    def add_param_group(self, param_group):
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: param_group must be a dict, but got "
                            f"{type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: optimizer parameters need to be organized in ordered "
                            "collections, but the ordering of tensors in sets will change "
                            "between runs. Please use a list instead.")
        else:
            params = list(params)
        tensors, names = [], []
        for p in params:
            if isinstance(p, tuple):
                names.append(p[0])
                p = p[1]
            tensors.append(p)
        if names and len(names) != len(tensors):
            raise ValueError(f"{name}: all optimizer params should be with/without names. "
                             "Some param names are missing")
        param_group["params"] = tensors
        if names:
            param_group["param_names"] = names
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: optimizer can only optimize Tensors, but one of "
                                f"the params is {type(p).__module__}.{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor")
        for key, default in self.defaults.items():
            if default is required and key not in param_group:
                raise ValueError(f"{name}: parameter group didn't specify a value of "
                                 f"required optimization parameter {key}")
            param_group.setdefault(key, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in tensors):
            raise ValueError(f"{name}: some parameters appear in more than one parameter "
                             "group")
        for g in self.param_groups:
            if ("param_names" in g) != ("param_names" in param_group):
                raise ValueError(f"{name}: all optimizer param groups should be "
                                 "with/without names.")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none=True):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_()
                    p.grad.zero_()

    def step(self, closure=None):
        raise NotImplementedError(f"{type(self).__name__}.step is not implemented")

    def _grads(self, group):
        """(parameter, gradient) for the parameters of ``group`` that have a gradient."""
        if CALLED:
            CALLED[-1].append(self)
        for p in group["params"]:
            if p.grad is not None:
                yield p, p.grad.detach()

    # --- state dict ---------------------------------------------------------------------
    def state_dict(self):
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``:
        the parameters numbered in group order, as PyTorch numbers them."""
        mapping = {}
        start = 0
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            for i, p in enumerate(g["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in g["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v
                 for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        name = type(self).__name__
        saved_groups = _copy_tree(state_dict["param_groups"])
        groups = self.param_groups
        if len(groups) != len(saved_groups):
            raise ValueError(f"{name}.load_state_dict: loaded state dict has a different "
                             "number of parameter groups")
        if any(len(a["params"]) != len(b["params"]) for a, b in zip(groups, saved_groups)):
            raise ValueError(f"{name}.load_state_dict: loaded state dict contains a "
                             "parameter group that doesn't match the size of optimizer's "
                             "group")
        id_map = dict(zip((i for g in saved_groups for i in g["params"]),
                          (p for g in groups for p in g["params"])))

        def cast(param, value, key=None):
            value = _as_state_tensor(value)
            if isinstance(value, Tensor):
                if key == "step":
                    return value
                if param.is_floating_point():
                    return value.to(dtype=param.dtype, device=param.device)
                return value.to(device=param.device)
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return value

        state = collections.defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = cast(id_map[k], v)
            else:
                state[k] = v
        for g, new in zip(groups, saved_groups):
            new["params"] = g["params"]
            if "param_names" in g and "param_names" not in new:
                new["param_names"] = g["param_names"]
        self.state = state
        self.param_groups = saved_groups
        self._setstate_groups()

    def _setstate_groups(self):
        """Fill hyperparameters an older state dict lacks (PyTorch's ``__setstate__``)."""
        for g in self.param_groups:
            for k, v in self.defaults.items():
                if v is not required:
                    g.setdefault(k, v)
