"""The WebGPU kernel registry: which function runs each primitive that is not elementwise,
and which WGSL files (shaders/wgsl/) it dispatches. Unlike WebGL's, the check does not ask
for every primitive: ``missing`` names those without a kernel (they raise
NotImplementedError when run), so a primitive added to ``webdl.ops`` elsewhere is simply
missing here until it gets a kernel."""
import re

from ...ops.base import Fused
from ..webgl.registry import Kernel

KERNELS = {}


def register(primitive, shaders=(), lazy_inputs=False):
    """Decorator (or a call on an existing function): the WebGPU kernel of ``primitive``."""
    def add(fn):
        if primitive in KERNELS:
            raise RuntimeError(f"webgpu: two kernels registered for '{primitive}'")
        KERNELS[primitive] = Kernel(fn, tuple(shaders), lazy_inputs)
        return fn
    return add


def elementwise_functions(source):
    """The op_<name> functions an elementwise WGSL source defines."""
    return set(re.findall(r"^fn op_(\w+)\(", source, re.M))


def missing(kernels, primitives, functions):
    """The primitives that cannot run on WebGPU: elementwise ones without an op_<name> in
    ``functions``, the others without a kernel (fused ops run their composite)."""
    out = []
    for name, op in sorted(primitives.items()):
        if op.elementwise:
            if name not in functions:
                out.append(name)
        elif not issubclass(op, Fused) and name not in kernels:
            out.append(name)
    return out


def check(kernels, primitives):
    """Raise if a kernel names no primitive or an elementwise one (those run fused)."""
    problems = [f"kernel '{n}' names no primitive" for n in sorted(kernels)
                if n not in primitives]
    problems += [f"'{n}' is elementwise (it runs in the fused path) but has a kernel"
                 for n in sorted(kernels) if n in primitives and primitives[n].elementwise]
    if problems:
        raise RuntimeError("webgpu: the kernel registry does not match webdl.ops: "
                           + "; ".join(problems))
