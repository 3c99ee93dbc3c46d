"""The in-place methods: ``x.add_(y)``, ``x.clamp_(0, 1)``, ``x += y``, ``x.uniform_()``...
Each computes its out-of-place result from the tensor's current value and writes it back
through the tensor's storage (``Tensor._write``), so views and bases see it, the version
goes up and autograd follows (or refuses, with PyTorch's errors)."""
import numpy as np

from .. import random as _random
from ..autograd import is_grad_enabled
from ..tensor import tensor
from .common import METHOD
from . import elementwise, indexing, reduction, shape

# out-of-place functions whose in-place form is ``<name>_``
_FAMILIES = (elementwise.API, indexing.API, shape.API, reduction.API)
_INPLACE = ("add sub mul div pow neg abs sign exp log sqrt rsqrt sin cos tanh sigmoid relu "
            "erf floor log1p clamp clip square reciprocal logical_not floor_divide true_divide "
            "multiply subtract divide masked_fill scatter scatter_add index_add index_copy "
            "index_fill lerp addcmul addcdiv clamp_min clamp_max tril triu cumsum").split()
_OPERATORS = {"__iadd__": "add", "__isub__": "sub", "__imul__": "mul", "__itruediv__": "div",
              "__ipow__": "pow", "__ifloordiv__": "floor_divide", "__iand__": "logical_and",
              "__ior__": "logical_or", "__ixor__": "logical_xor"}


def _find(name):
    for table in _FAMILIES:
        if name in table:
            return table[name][0]
    raise KeyError(name)


def inplace(fn, name):
    """The in-place method ``name`` of out-of-place function ``fn``."""
    def method(self, *args, **kwargs):
        return self._inplace_from(lambda cur: fn(cur, *args, **kwargs), name)
    method.__name__ = method.__qualname__ = name
    return method


def _random_fill(name, draw):
    """An in-place random fill: values drawn on the host from webdl's random state (so every
    backend gets the same numbers for one seed) and written in place."""
    def method(self, *args, generator=None, **kwargs):
        values = draw(_random.generator(generator), tuple(self.shape), *args, **kwargs)
        return self._inplace_from(lambda cur: tensor(values, device=cur.device), name)
    method.__name__ = method.__qualname__ = name
    return method


def _uniform(rng, shape, a=0.0, b=1.0):
    return rng.uniform(a, b, shape).astype(np.float32)


def _normal(rng, shape, mean=0.0, std=1.0):
    return (rng.standard_normal(shape) * std + mean).astype(np.float32)


def _bernoulli(rng, shape, p=0.5):
    return rng.random(shape) < p


def _exponential(rng, shape, lambd=1.0):
    return rng.exponential(1.0 / lambd, shape).astype(np.float32)


def _integers(rng, shape, low=0, high=None):
    if high is None:
        low, high = 0, low
    return rng.integers(low, high, shape)


def _become(name, make):
    """A metadata in-place op (``t_``, ``unsqueeze_``...): the tensor becomes its view."""
    def method(self, *args):
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError(f"{name}: changing the shape in place of a tensor that "
                               f"requires grad is not supported; use the out-of-place form")
        self.data = make(self, *args)
        return self
    method.__name__ = method.__qualname__ = name
    return method


API = {
    **{name + "_": (inplace(_find(name), name + "_"), METHOD) for name in _INPLACE},
    **{op: (inplace(_find(name), op), METHOD) for op, name in _OPERATORS.items()},
    "uniform_": (_random_fill("uniform_", _uniform), METHOD),
    "normal_": (_random_fill("normal_", _normal), METHOD),
    "bernoulli_": (_random_fill("bernoulli_", _bernoulli), METHOD),
    "exponential_": (_random_fill("exponential_", _exponential), METHOD),
    "random_": (_random_fill("random_", _integers), METHOD),
    **{name + "_": (_become(name + "_", getattr(shape, name)), METHOD)
       for name in ("t", "transpose", "unsqueeze", "squeeze")},
}
