"""The kernel registry: which function runs each primitive that is not elementwise (those
all run through the fused path of elementwise.py), and which shaders it draws with.

Each family module registers its kernels with ``@register``; the package checks the
registry against ``webdl.ops.primitives()`` when it is imported (``check``).
"""
from typing import Callable, NamedTuple

from ...ops.base import Fused


class Kernel(NamedTuple):
    run: Callable       # (backend, bufs, shapes, out_shape, out_dtype, attrs) -> buffer
    shaders: tuple      # the shaders/<name>.glsl files it may draw with
    lazy_inputs: bool   # takes lazy inputs as they are (reads views in place); else realized
    ints: bool = False  # reads and writes int textures (R32I) exactly; else floats only


KERNELS = {}


def register(primitive, shaders=(), lazy_inputs=False, ints=False):
    """Decorator: the function is the WebGL kernel of ``primitive``; with ``ints`` it takes
    and makes int64 tensors (int textures) exactly, else the backend refuses them."""
    def add(fn):
        if primitive in KERNELS:
            raise RuntimeError(f"webgl: two kernels registered for '{primitive}'")
        KERNELS[primitive] = Kernel(fn, tuple(shaders), lazy_inputs, ints)
        return fn
    return add


def check(kernels, primitives):
    """Raise if ``kernels`` and ``primitives`` ({name: op class}) disagree: a primitive that
    is neither elementwise nor a fused op (which a backend may leave to its composite) has
    no kernel, or a kernel names no primitive or an elementwise one."""
    problems = []
    for name, op in sorted(primitives.items()):
        if op.elementwise and name in kernels:
            problems.append(f"'{name}' is elementwise (it runs in the fused path) but has a "
                            "kernel")
        elif not op.elementwise and not issubclass(op, Fused) and name not in kernels:
            problems.append(f"primitive '{name}' has no kernel and is not elementwise")
    problems += [f"kernel '{name}' names no primitive" for name in sorted(kernels)
                 if name not in primitives]
    if problems:
        raise RuntimeError("webgl: the kernel registry does not match webdl.ops: "
                           + "; ".join(problems))


def fused_ops(kernels, primitives):
    """The fused ops (composites) that have a kernel: ``Backend.fused``."""
    return frozenset(n for n in kernels if issubclass(primitives[n], Fused))
