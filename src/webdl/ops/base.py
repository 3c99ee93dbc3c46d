"""The primitive op spec: what every op declares, and nothing that runs it.

A primitive is an :class:`Op` subclass. It declares

- ``name``: the kernel name a backend looks up;
- ``infer(*inputs, **attrs) -> (shape, dtype)``: the shape rule, which raises on bad input;
- ``ref(*arrays, **attrs) -> ndarray``: the numpy reference (the numpy backend runs it);
- ``backward(self, grad) -> tuple``: one gradient (a tensor or None) per input, written with
  tensor methods and other ops' ``apply``; ``self.inputs``, ``self.out`` and ``self.attrs``
  hold what the forward pass saw;
- flags: ``elementwise`` (a per-element map of inputs broadcast to one shape: backends may
  fuse chains of them into one kernel), ``differentiable``, ``view`` (the output is a view
  of the first input: it shares its storage, see ``webdl.storage``);
- ``saves``: which values the backward rule reads -- input indices and ``"out"``; autograd
  checks that none of them was modified in place before it runs the rule (``None``: all
  inputs and the output; an index past the inputs given names an optional input left out).

Nothing here runs an op: ``Op.apply`` hands the op to the class of its first input
(``Tensor._apply`` is ``webdl.autograd.apply``), which checks shapes, asks the backend to
run it and records the graph node -- an instance of the op class, so ``grad_fn`` is the op.
"""


class Op:
    name = None
    elementwise = False
    differentiable = True
    view = False
    saves = None

    __slots__ = ("inputs", "out", "attrs", "next_functions", "versions", "__weakref__")

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
        """Run this op on tensors, through their class (autograd records it)."""
        return inputs[0]._apply(cls, inputs, attrs)

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"


# Returned by a fused op's backward to ask autograd to differentiate ``decompose`` instead.
DECOMPOSE = object()


class Fused(Op):
    """A composite op that a backend may run as one kernel (it names the op in
    ``backend.fused``). ``decompose(*inputs, **attrs)`` writes it with other ops: it is the
    reference and, when ``backward`` returns :data:`DECOMPOSE` (the default), the backward
    pass -- autograd recomputes the composite on the saved inputs and differentiates it."""

    __slots__ = ()

    @staticmethod
    def decompose(*inputs, **attrs):
        raise NotImplementedError

    def backward(self, grad):
        return DECOMPOSE
