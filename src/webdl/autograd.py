"""Autograd in the micrograd way: each result keeps its inputs and a backward rule.

``apply(op, inputs, attrs)`` runs a primitive (a ``webdl.ops`` spec) on tensors: it checks
the inputs with the op's shape rule, asks the tensors' backend to run it and -- when a
gradient is wanted -- records a graph node, an instance of the op class (the tensor's
``grad_fn``) holding the inputs, the output, the attributes, ``next_functions`` (for each
input, the node its gradient goes to: the input's own ``grad_fn``, or the
:class:`AccumulateGrad` of a leaf, as in PyTorch) and the versions of the values its
backward rule reads. Edges go to nodes, not tensors, so a tensor modified in place can
take a new ``grad_fn`` without rewiring what was recorded before.

``run_backward`` walks the nodes in reverse topological order; every backward rule is
written with tensor ops, so it runs on the same backend as the forward pass.

Tensors are made by the class of the op's first input (``type(x)._wrap``), so this module
needs no import of ``webdl.tensor``, which sits above it.
"""
import functools
import inspect
import weakref

from .ops.base import Op, DECOMPOSE
from .ops.movement import Cat, Slice
from .storage import link_view, storage_of, version


class _GradMode:
    enabled = True


def is_grad_enabled():
    return _GradMode.enabled


class _GradSwitch:
    mode = True

    def __enter__(self):
        self._prev = _GradMode.enabled
        _GradMode.enabled = self.mode

    def __exit__(self, *exc):
        _GradMode.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            with self.__class__():
                return fn(*a, **k)
        return wrapper


class no_grad(_GradSwitch):
    """Context manager and decorator: ops inside build no graph."""
    mode = False


class enable_grad(_GradSwitch):
    mode = True


class AccumulateGrad:
    """The node of a leaf that requires grad: its gradient is added into ``leaf.grad``."""
    __slots__ = ("variable", "__weakref__")
    next_functions = ()
    name = "accumulate_grad"

    def __init__(self, variable):
        self.variable = variable

    def __repr__(self):
        return "<AccumulateGrad>"


def grad_edge(t):
    """The node a gradient for ``t`` goes to, or None when ``t`` needs none. A leaf's
    AccumulateGrad is kept weakly on the leaf, so every use of the leaf shares one."""
    if not t.requires_grad:
        return None
    if t._ctx is not None:
        return t._ctx
    acc = t._accum() if t._accum is not None else None
    if acc is None:
        acc = AccumulateGrad(t)
        t._accum = weakref.ref(acc)
    return acc
class _InferenceMode:
    enabled = False


def _decorate(fn, make_context):
    """``fn`` run inside a fresh ``make_context()`` at each call; for a generator function,
    inside it at each resumption (as PyTorch's grad-mode decorators do)."""
    if not inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            with make_context():
                return fn(*a, **k)
        return wrapper

    @functools.wraps(fn)
    def generator(*a, **k):
        gen = fn(*a, **k)
        try:
            with make_context():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with make_context():
                        gen.close()
                    raise
                except BaseException as e:  # noqa: B902 (thrown into the generator)
                    with make_context():
                        response = gen.throw(e)
                else:
                    with make_context():
                        response = gen.send(request)
        except StopIteration as e:
            return e.value
    return generator


def is_inference_mode_enabled():
    return _InferenceMode.enabled


class inference_mode:
    """Context manager and decorator (``@inference_mode``, ``@inference_mode()``): like
    ``no_grad``, ops inside build no graph. ``inference_mode(False)`` turns inference mode
    off and grad mode on, as in PyTorch. (PyTorch's inference *tensors* -- which refuse
    later use in autograd, even under ``enable_grad`` -- are not modelled: results made
    here are ordinary tensors without a graph.)"""

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)               # used bare as a decorator: mode is the function

    def __init__(self, mode=True):
        self.mode = mode

    def __enter__(self):
        self._prev = (_GradMode.enabled, _InferenceMode.enabled)
        _GradMode.enabled = not self.mode
        _InferenceMode.enabled = self.mode

    def __exit__(self, *exc):
        _GradMode.enabled, _InferenceMode.enabled = self._prev
        return False

    def __call__(self, fn):
        return _decorate(fn, self.clone)

    def clone(self):
        return type(self)(self.mode)


class set_grad_enabled:
    """Grad mode on or off: as a plain call (``set_grad_enabled(False)`` switches it now),
    a context manager (restores the previous mode on exit) or a decorator."""

    def __init__(self, mode):
        self.prev = _GradMode.enabled
        self.mode = bool(mode)
        _GradMode.enabled = self.mode

    def __call__(self, fn):
        _GradMode.enabled = self.prev    # decorating doesn't switch; calls do
        return _decorate(fn, self.clone)

    def __enter__(self):
        _GradMode.enabled = self.mode

    def __exit__(self, *exc):
        _GradMode.enabled = self.prev
        return False

    def __repr__(self):
        return f"webdl.autograd.set_grad_enabled(mode={self.mode})"

    def clone(self):
        return type(self)(self.mode)


def _record(op, inputs, attrs, out, keep_out=True):
    """Make ``out`` the result of a graph node of ``op`` when a gradient is wanted. The
    node keeps a second tensor over the output's buffer (``out`` itself would make a
    reference cycle) when ``keep_out``; it shares ``out``'s storage version when the
    backward rule reads the output."""
    if not (_GradMode.enabled and op.differentiable):
        return out
    for t in inputs:
        if t.requires_grad:
            break
    else:               # no input wants a gradient
        return out
    node = op.__new__(op)
    node.inputs, node.attrs = inputs, attrs
    node.next_functions = tuple([((t._ctx or grad_edge(t)) if t.requires_grad else None, 0)
                                 for t in inputs])
    saves = op.saves
    if saves is None:
        n = len(inputs)
        saves = _ALL_SAVES[n] if n < len(_ALL_SAVES) else tuple(range(n)) + ("out",)
    node.out = None
    if keep_out:
        twin = node.out = type(out)._wrap(out._buf, out.shape, out.dtype, out.device)
        if "out" in saves:     # the twin follows out's version, not its writes
            twin._storage, twin._chain = storage_of(out), out._chain
    versions = []
    for k in saves:     # version(t) inlined: 0 until a tensor joins a storage
        if k != "out" and k >= len(inputs):
            continue    # an optional input left out (layer_norm without a weight)
        st = (out if k == "out" else inputs[k])._storage
        versions.append((k, 0 if st is None else st.version))
    node.versions = tuple(versions)
    out._ctx = node
    out.requires_grad = True
    return out


# the saves of an op that reads all its inputs and its output (Op.saves None), by input count
_ALL_SAVES = [tuple(range(n)) + ("out",) for n in range(16)]


def apply(op, inputs, attrs):
    """Run primitive ``op`` on tensors ``inputs`` (all on one device)."""
    shape, dtype = op.infer(*inputs, **attrs)
    dev = inputs[0].device
    for t in inputs[1:]:
        if t.device is not dev and t.device != dev:
            raise RuntimeError(f"{op.name}: expected all tensors on one device, got "
                               f"{dev} and {t.device}")
    buf = dev.backend.run(op, [t._buf for t in inputs], [t.shape for t in inputs], shape,
                          dtype, attrs)
    out = type(inputs[0])._wrap(buf, shape, dtype, dev)
    if op.view:
        link_view(out, inputs[0], op, attrs)
    if _GradMode.enabled and op.differentiable:     # _record's first tests, without a call
        for t in inputs:
            if t.requires_grad:
                return _record(op, inputs, attrs, out)
    return out


class ToDevice(Op):
    """A copy between devices (not a primitive: it spans two backends); its gradient goes
    back to the source device."""
    name = "to_device"
    saves = ()
    __slots__ = ()

    def backward(self, g):
        return (g.to(self.inputs[0].device),)


def to_device(x, device):
    """``x`` copied to ``device`` through the host, with a gradient path when wanted."""
    buf = device.backend.from_numpy(x._value(), x.dtype)
    out = type(x)._wrap(buf, x.shape, x.dtype, device)
    return _record(ToDevice, (x,), {"device": device}, out, keep_out=False)


def _backward_by_decomposition(node, grad):
    """A fused op's gradients: recompute its composite on the saved inputs, differentiate."""
    leaves = [t.detach() for t in node.inputs]
    for leaf, t in zip(leaves, node.inputs):
        leaf.requires_grad = t.requires_grad
    with enable_grad():
        out = node.decompose(*leaves, **node.attrs)
    run_backward(out, grad)
    return tuple(leaf.grad if leaf.requires_grad else None for leaf in leaves)


def _check_versions(node):
    """PyTorch's error when a value the backward rule reads was modified in place."""
    for k, v in node.versions:
        t = node.out if k == "out" else node.inputs[k]
        now = version(t)
        if now != v:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: [{t.dtype} {list(t.shape)}], which is "
                f"{'the output' if k == 'out' else f'input {k}'} of {type(node).__name__}, "
                f"is at version {now}; expected version {v} instead")


def _topo(root):
    """The nodes reachable from ``root``, each after every node that feeds it."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for nxt, _ in node.next_functions:
            if nxt is not None and id(nxt) not in seen:
                stack.append((nxt, False))
    return order


def _run(pieces):
    """Where a slice's gradient goes in its input, if it is one run along one axis (step 1,
    the other axes whole): (axis, start, gradient, node), else None."""
    node, g = pieces
    a, full = node.attrs, tuple(node.inputs[0].shape)
    axes = [d for d, (s, n) in enumerate(zip(a["starts"], a["shape"])) if s or n != full[d]]
    if not full or any(st != 1 for st in a["steps"]) or len(axes) > 1:
        return None
    d = axes[0] if axes else 0
    return d, a["starts"][d], g, node


def _slices_gradient(pieces):
    """The gradient of a tensor read through several slices (``pieces``: [(Slice node, its
    output's gradient)]): disjoint runs along one axis are assembled with one cat (zeros in
    the gaps), so the per-step slices of a sequence (an RNN's gates, ``unbind``, ``chunk``)
    cost one pass instead of one full-size unslice each, summed; anything else sums the
    unslices."""
    runs = [_run(p) for p in pieces]
    if len(pieces) > 1 and None not in runs and len({r[0] for r in runs}) == 1:
        runs.sort(key=lambda r: r[1])
        d, full = runs[0][0], tuple(runs[0][3].inputs[0].shape)
        parts, at = [], 0
        for _, s, g, _ in runs:
            if s < at:
                break               # overlapping runs: sum the unslices instead
            if s > at:
                parts.append(g.new_zeros(full[:d] + (s - at,) + full[d + 1:]))
            parts.append(g)
            at = s + g.shape[d]
        else:
            if at < full[d]:
                parts.append(runs[0][2].new_zeros(full[:d] + (full[d] - at,) + full[d + 1:]))
            return Cat.apply(*parts, axis=d)
    total = None
    for node, g in pieces:
        u = node.backward(g)[0]
        total = u if total is None else total + u
    return total


# backward passes run so far: a recorded training step (webdl.compile) checks that its call
# ran one (its loss's graph is then spent, and the replays return it without one)
BACKWARDS = [0]


def run_backward(root, gradient):
    """Backpropagate ``gradient`` from tensor ``root`` into the ``.grad`` of the leaves. The
    gradients that slices send to one node wait for it (``_slices_gradient``)."""
    BACKWARDS[0] += 1
    start = grad_edge(root)
    grads = {id(start): gradient}
    sliced = {}
    with no_grad():
        for node in reversed(_topo(start)):
            g = grads.pop(id(node), None)
            pieces = sliced.pop(id(node), None)
            if pieces:
                s = _slices_gradient(pieces)
                g = s if g is None else g + s
            if g is None:
                continue
            if type(node) is Slice and node.next_functions[0][0] is not None:
                sliced.setdefault(id(node.next_functions[0][0]), []).append((node, g))
                continue
            if type(node) is AccumulateGrad:
                leaf = node.variable
                leaf.grad = g if leaf.grad is None else leaf.grad + g
                continue
            _check_versions(node)
            in_grads = node.backward(g)
            if in_grads is DECOMPOSE:
                in_grads = _backward_by_decomposition(node, g)
            for (nxt, _), inp, ig in zip(node.next_functions, node.inputs, in_grads):
                if nxt is None or ig is None:
                    continue
                if ig.shape != inp.shape:       # Sizes (tuples): compared as tuples
                    raise AssertionError(f"{node.name} backward: gradient shape "
                                         f"{tuple(ig.shape)} != input shape {tuple(inp.shape)}")
                k = id(nxt)
                grads[k] = ig if k not in grads else grads[k] + ig
