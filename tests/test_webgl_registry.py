"""The WebGL backend's kernel registry against the primitives and the shaders, on CPython
(the package imports without the browser's JS bridge)."""
import os
import re

import pytest

import webdl
from webdl.backends.webgl import WebGLBackend, elementwise, ir, registry
from webdl.ops import primitives
from webdl.ops.base import Fused
from webdl.ops.elementwise import Binary

SHADERS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "shaders")


def glsl_functions():
    """{name: parameter count} of the functions elementwise.glsl defines."""
    text = open(os.path.join(SHADERS, "elementwise.glsl")).read()
    return {name: len(params.split(",")) for name, params in
            re.findall(r"^float (\w+)\(([^)]*)\)", text, re.M)}


def test_every_primitive_has_a_kernel_or_is_elementwise():
    """...or is one of the fused ops WebGL leaves to their composite: attention's (its
    functional form runs products and the softmax primitive here)."""
    left = set()
    for name, op in primitives().items():
        if not op.elementwise and name not in registry.KERNELS:
            assert issubclass(op, Fused), f"'{name}' has no WebGL kernel"
            left.add(name)
        assert not (op.elementwise and name in registry.KERNELS), name
    assert left == {"attention", "attention_grad_q", "attention_grad_kv"}
    assert not left & WebGLBackend.fused


def test_check_names_missing_and_stray_kernels():
    registry.check(registry.KERNELS, primitives())
    kernels = dict(registry.KERNELS, nonesuch=registry.KERNELS["sum"], add=registry.KERNELS["sum"])
    del kernels["gather"]
    with pytest.raises(RuntimeError) as e:
        registry.check(kernels, primitives())
    msg = str(e.value)
    assert "primitive 'gather' has no kernel" in msg
    assert "kernel 'nonesuch' names no primitive" in msg
    assert "'add' is elementwise" in msg


@pytest.mark.parametrize("name", sorted(n for n, op in primitives().items() if op.elementwise))
def test_elementwise_primitive_has_its_glsl(name):
    """The generated code calls op_<name> of elementwise.glsl with as many arguments as it
    takes (cast too, with its target code); where is a ternary, with no function."""
    op = primitives()[name]
    arity = 3 if name == "where" else 2 if issubclass(op, Binary) else 1
    kids = tuple(ir.Leaf(object(), (0, 0, 0, 0, 3, 1), 0) for _ in range(arity))
    expr = elementwise.node(op, kids, {"dtype": webdl.float32}, webdl.float32)
    code, inputs, _ = ir.generate([expr], (2, 3))
    emitted = re.search(r"emit\((.*)\);", code).group(1)
    calls = re.findall(r"(\w+)\(([^()]*)\)", emitted)
    if name == "where":
        assert calls == [] and emitted == "(v0 != 0.0 ? v1 : v2)", emitted
        return
    assert len(inputs) == arity and [c[0] for c in calls] == ["op_" + name], emitted
    defined = glsl_functions()
    assert "op_" + name in defined, f"elementwise.glsl has no op_{name}"
    assert len(calls[0][1].split(",")) == defined["op_" + name], emitted


def test_shader_files_and_kernels_agree():
    files = {f[:-5] for f in os.listdir(SHADERS) if f.endswith(".glsl")}
    named = {s for k in registry.KERNELS.values() for s in k.shaders}
    assert named <= files, f"kernels name missing shaders: {sorted(named - files)}"
    # common.glsl heads every program; elementwise.glsl's functions are the fused chains'
    # (drawn alone, or read by a reduction: its kernels name it)
    assert files - named == {"common"}, "shaders no kernel draws with"


def test_backend_needs_the_browser():
    with pytest.raises(ImportError, match="runs in Pyodide in a browser"):
        WebGLBackend()
