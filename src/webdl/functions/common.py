"""What the function families share: the kinds of API table entry and argument helpers.

Each family module ends with its table, ``API = {name: (function, kind)}``: ``FUNCTION``
entries become ``webdl.<name>``, ``METHOD`` entries ``Tensor.<name>`` (operators
included), ``BOTH`` entries both (see ``webdl/functions/__init__.py``)."""
from ..tensor import Tensor

FUNCTION, METHOD, BOTH = "function", "method", "both"


def reflected(fn):
    """``other <op> self`` for a reflected operator such as ``__radd__``."""
    def method(self, other):
        return fn(other, self)
    method.__name__ = method.__qualname__ = "r" + fn.__name__
    return method


def check_tensor(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


def size_args(args):
    """``f(2, 3)`` and ``f((2, 3))`` alike: the sizes as a tuple."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def count(x, axes):
    """The number of elements of ``x`` over ``axes``."""
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n
