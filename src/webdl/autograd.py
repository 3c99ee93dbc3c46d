"""Autograd in the micrograd way: each result keeps its inputs and a backward rule.

``apply(op, inputs, attrs)`` runs a primitive (a ``webdl.ops`` spec) on tensors: it checks
the inputs with the op's shape rule, asks the tensors' backend to run it and -- when a
gradient is wanted -- records a graph node, an instance of the op class holding the
inputs, the output and the attributes (the tensor's ``grad_fn``). ``run_backward`` walks
the graph in reverse topological order; every backward rule is written with tensor ops,
so it runs on the same backend as the forward pass.

Tensors are made by the class of the op's first input (``type(x)._wrap``), so this module
needs no import of ``webdl.tensor``, which sits above it.
"""
import functools
import inspect

from .ops.base import Op, DECOMPOSE


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
    reference cycle) when ``keep_out``."""
    if _GradMode.enabled and op.differentiable and any(t.requires_grad for t in inputs):
        node = op.__new__(op)
        node.inputs, node.attrs = inputs, attrs
        node.out = type(out)._wrap(out._buf, out.shape, out.dtype, out.device) if keep_out \
            else None
        out._ctx = node
        out.requires_grad = True
    return out


def apply(op, inputs, attrs):
    """Run primitive ``op`` on tensors ``inputs`` (all on one device)."""
    shape, dtype = op.infer(*inputs, **attrs)
    dev = inputs[0].device
    for t in inputs[1:]:
        if t.device != dev:
            raise RuntimeError(f"{op.name}: expected all tensors on one device, got "
                               f"{dev} and {t.device}")
    buf = dev.backend.run(op, [t._buf for t in inputs], [t.shape for t in inputs], shape,
                          dtype, attrs)
    return _record(op, inputs, attrs, type(inputs[0])._wrap(buf, shape, dtype, dev))


class ToDevice(Op):
    """A copy between devices (not a primitive: it spans two backends); its gradient goes
    back to the source device."""
    name = "to_device"
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


def _topo(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        if t._ctx is not None:
            for i in t._ctx.inputs:
                if i.requires_grad and id(i) not in seen:
                    stack.append((i, False))
    return order


def run_backward(root, gradient):
    grads = {id(root): gradient}
    with no_grad():
        for t in reversed(_topo(root)):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            ctx = t._ctx
            if ctx is None:
                if t.requires_grad:
                    t.grad = g if t.grad is None else t.grad + g
                continue
            in_grads = ctx.backward(g)
            if in_grads is DECOMPOSE:
                in_grads = _backward_by_decomposition(ctx, g)
            for inp, ig in zip(ctx.inputs, in_grads):
                if ig is None or not inp.requires_grad:
                    continue
                if tuple(ig.shape) != tuple(inp.shape):
                    raise AssertionError(f"{ctx.name} backward: gradient shape {tuple(ig.shape)}"
                                         f" != input shape {tuple(inp.shape)}")
                k = id(inp)
                grads[k] = ig if k not in grads else grads[k] + ig
