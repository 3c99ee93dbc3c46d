"""The public functions (``webdl.sum``, ``webdl.cat``, ...) and the op methods of ``Tensor``
(``x.sum()``, ``x + y``, ``x[i]``), written on the primitives of ``webdl.ops``.

One module per family, mirroring the op families: ``elementwise``, ``reduction``,
``shape``, ``indexing``, ``linalg``, ``selection``; ``inplace`` makes the in-place methods
(``add_``, ``+=``, ``uniform_``...) from the others. Each ends with its table,
``API = {name: (function, kind)}``; this package joins the tables into ``FUNCTIONS``
(exported as ``webdl.<name>``) and ``METHODS`` (bound onto ``Tensor`` here, once, when the
package is imported). The public functions that compute new values (not views) take
PyTorch's ``out=``. Argument checking happens in these functions, before any work, so
errors name the op as the user called it with the shapes involved.
"""
import functools

from ..autograd import is_grad_enabled
from ..tensor import Tensor
from . import elementwise, reduction, shape, indexing, linalg, selection, inplace
from .common import FUNCTION, METHOD

# functions that return views or host data: no out= (as in PyTorch)
_NO_OUT = set(shape.API) - {"cat", "concat", "concatenate", "stack", "roll", "tril", "triu",
                            "repeat_interleave", "flip"} | {"unique", "bincount",
                                                            "broadcast_shapes", "meshgrid"}


def _write_out(name, out, result):
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{name}(): out= must be a tuple of {len(result)} tensors")
        return type(result)(*[_write_out(name, o, r) for o, r in zip(out, result)])
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): out= must be a Tensor, got {type(out).__name__}")
    if tuple(out.shape) != tuple(result.shape):     # PyTorch resizes out to the result
        out.data = result.detach().to(out.dtype)
        return out
    return out.copy_(result)


def _with_out(name, fn):
    @functools.wraps(fn)
    def f(*args, out=None, **kwargs):
        result = fn(*args, **kwargs)
        if out is None:
            return result
        if is_grad_enabled() and any(getattr(r, "requires_grad", False) for r in
                                     (result if isinstance(result, tuple) else (result,))):
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                               "automatic differentiation, but one of the arguments requires "
                               "grad.")
        return _write_out(name, out, result)
    return f


FUNCTIONS, METHODS = {}, {}
for _family in (elementwise, reduction, shape, indexing, linalg, selection, inplace):
    for _name, (_fn, _kind) in _family.API.items():
        if _name in FUNCTIONS or _name in METHODS:
            raise RuntimeError(f"webdl.functions: {_name!r} is in two tables")
        if _kind != METHOD:
            FUNCTIONS[_name] = _fn if _name in _NO_OUT else _with_out(_name, _fn)
        if _kind != FUNCTION:
            METHODS[_name] = _fn

for _name, _fn in METHODS.items():
    setattr(Tensor, _name, _fn)
