"""The primitive ops: the closed set every backend implements (see webdl.backends)."""
from . import elementwise, reduce, movement, linalg, misc, conv  # noqa: F401
from .elementwise import UNARY, BINARY, Cast, Where  # noqa: F401
from .reduce import Sum, Amax, Amin, Argmax, Argmin  # noqa: F401
from .movement import Reshape, Permute, Expand, Slice, Unslice, Flip, Cat, Gather, ScatterAdd  # noqa: F401
from .linalg import Matmul, Unfold, Fold  # noqa: F401


def primitives():
    """Every primitive op class, by kernel name."""
    from ..autograd import Function
    out = {}
    stack = [Function]
    while stack:
        c = stack.pop()
        for s in c.__subclasses__():
            stack.append(s)
            if s.name and s.name != "to_device":
                out[s.name] = s
    return out
