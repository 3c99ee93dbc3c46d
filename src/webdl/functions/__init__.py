"""The public functions (``webdl.sum``, ``webdl.cat``, ...) and the op methods of ``Tensor``
(``x.sum()``, ``x + y``, ``x[i]``), written on the primitives of ``webdl.ops``.

One module per family, mirroring the op families: ``elementwise``, ``reduction``,
``shape``, ``indexing``, ``linalg``, ``selection``; ``inplace`` makes the in-place methods (``add_``,
``+=``, ``uniform_``...) from the others. Each ends with its table, ``API = {name: (function,
kind)}``; this package joins the tables into ``FUNCTIONS`` (exported as ``webdl.<name>``)
and ``METHODS`` (bound onto ``Tensor`` here, once, when the package is imported).
Argument checking happens in these functions, before any work, so errors name the op as
the user called it with the shapes involved.
"""
from ..tensor import Tensor
from . import elementwise, reduction, shape, indexing, linalg, selection, inplace
from .common import FUNCTION, METHOD

FUNCTIONS, METHODS = {}, {}
for _family in (elementwise, reduction, shape, indexing, linalg, selection, inplace):
    for _name, (_fn, _kind) in _family.API.items():
        if _name in FUNCTIONS or _name in METHODS:
            raise RuntimeError(f"webdl.functions: {_name!r} is in two tables")
        if _kind != METHOD:
            FUNCTIONS[_name] = _fn
        if _kind != FUNCTION:
            METHODS[_name] = _fn

for _name, _fn in METHODS.items():
    setattr(Tensor, _name, _fn)
