"""Autograd in the micrograd way: each result keeps its inputs and a backward rule.

A primitive op is a :class:`Function` subclass. ``Function.apply`` checks the inputs with
the op's shape rule, asks the tensors' backend to run it, and -- when a gradient is
wanted -- keeps the inputs and the output on a fresh instance of the class. ``backward``
walks the graph in reverse topological order; every backward rule is written with
Tensor ops, so it runs on the same backend as the forward pass.
"""
import functools


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


_Tensor = []


def _tensor_class():
    """webdl.tensor.Tensor (whose module imports this one), cached after the first call: a
    function-level import costs microseconds on every op in Pyodide."""
    if not _Tensor:
        from .tensor import Tensor
        _Tensor.append(Tensor)
    return _Tensor[0]


class Function:
    """A primitive op. Subclasses set ``name`` and define ``infer``, ``ref``, ``backward``.

    - ``infer(*inputs, **attrs) -> (shape, dtype)``: the shape rule; raises on bad input.
    - ``ref(*arrays, **attrs) -> ndarray``: the numpy reference implementation.
    - ``backward(self, grad) -> tuple``: one gradient (Tensor or None) per input, written
      with Tensor ops; ``self.inputs``, ``self.out`` and ``self.attrs`` are available.
    """

    name = None
    differentiable = True
    elementwise = False     # True: same-shape (broadcast) per-element op, fusable in chains

    __slots__ = ("inputs", "out", "attrs")

    @classmethod
    def infer(cls, *inputs, **attrs):
        raise NotImplementedError(cls.__name__)

    @staticmethod
    def ref(*arrays, **attrs):
        raise NotImplementedError

    def backward(self, grad):
        raise RuntimeError(f"{self.name}: this op has no backward")

    @classmethod
    def apply(cls, *inputs, **attrs):
        Tensor = _tensor_class()
        shape, dtype = cls.infer(*inputs, **attrs)
        dev = inputs[0].device
        for t in inputs[1:]:
            if t.device != dev:
                raise RuntimeError(f"{cls.name}: expected all tensors on one device, got "
                                   f"{dev} and {t.device}")
        buf = dev.backend.run(cls, [t._buf for t in inputs], [t.shape for t in inputs], shape,
                              dtype, attrs)
        out = Tensor._wrap(buf, shape, dtype, dev)
        if _GradMode.enabled and cls.differentiable and any(t.requires_grad for t in inputs):
            ctx = cls.__new__(cls)
            ctx.inputs = inputs
            ctx.attrs = attrs
            ctx.out = Tensor._wrap(buf, shape, dtype, dev)
            out._ctx = ctx
            out.requires_grad = True
        return out

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"


class Fused(Function):
    """A backend's fused kernel for a composite op (named in the set ``backend.fused``).

    Subclasses define ``name``, ``infer``, ``ref`` and ``decompose(*inputs, **attrs)``, the
    composite written with other ops. The backward pass recomputes ``decompose`` on the saved
    inputs and differentiates that, so a fused kernel needs no backward rule of its own.
    """

    __slots__ = ()

    @staticmethod
    def decompose(*inputs, **attrs):
        raise NotImplementedError

    def backward(self, grad):
        leaves = [t.detach() for t in self.inputs]
        for leaf, t in zip(leaves, self.inputs):
            leaf.requires_grad = t.requires_grad
        with enable_grad():
            out = self.decompose(*leaves, **self.attrs)
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
            for inp, ig in zip(ctx.inputs, in_grads):
                if ig is None or not inp.requires_grad:
                    continue
                if tuple(ig.shape) != tuple(inp.shape):
                    raise AssertionError(f"{ctx.name} backward: gradient shape {tuple(ig.shape)}"
                                         f" != input shape {tuple(inp.shape)}")
                k = id(inp)
                grads[k] = ig if k not in grads else grads[k] + ig
