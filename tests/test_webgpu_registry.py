"""The WebGPU backend's kernel registry and WGSL sources, on CPython (the package imports
without the browser's JS bridge): which primitives lack a kernel (named, none today), every
kernel's WGSL file exists and its uniform schema parses, and the generated code of a fused
chain is well formed."""
import os

import numpy as np
import pytest

from webdl.backends import webgpu
from webdl.backends.webgl.ir import Apply, Const, Leaf, Where
from webdl.backends.webgpu import READ_BUFFER, bridge, codegen, matmul, registry
from webdl.ops import primitives

WGSL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "shaders", "wgsl")


def test_no_primitive_is_missing_a_kernel_today():
    assert webgpu.missing_kernels() == []


def test_missing_names_unknown_primitives_and_check_names_stray_kernels():
    """A primitive added to ops elsewhere is listed as missing (running it raises), not an
    import error; a kernel for no primitive or for an elementwise one is an error."""
    class NewOp:
        elementwise = False
    prims = dict(primitives(), softmax_fused=NewOp)
    funcs = registry.elementwise_functions(bridge._source("elementwise"))
    assert registry.missing(registry.KERNELS, prims, funcs) == ["softmax_fused"]
    assert "tan" in registry.missing(registry.KERNELS, primitives(), funcs - {"tan"})
    with pytest.raises(RuntimeError, match="kernel 'nonesuch' names no primitive.*'add' is "
                                           "elementwise"):
        registry.check(dict(registry.KERNELS, nonesuch=registry.KERNELS["sum"],
                            add=registry.KERNELS["sum"]), primitives())


@pytest.mark.parametrize("name", sorted(registry.KERNELS))
def test_kernel_sources_exist_and_their_uniforms_parse(name):
    for shader in registry.KERNELS[name].shaders:
        assert os.path.exists(os.path.join(WGSL, shader + ".wgsl")), shader
        defines = {"reduce": (("OP", "SUM"),), "cat": (("N", 2),)}.get(shader, ())
        # the matmul mains take their operands from a piece appended after them, the
        # cooperative sum's main and combine come after reduce.wgsl
        coop = {"reduce_coop": "tree", "reduce_tree": "tree", "reduce_subgroup": "subgroup"}
        main, code = {"matmul_operands": ("matmul", shader), "conv2d_operands": ("matmul", shader),
                      "matmul": (shader, "matmul_operands"),
                      "matmul_direct": (shader, "matmul_operands"),
                      "conv2d_few": (shader, "conv2d_operands"),
                      "layernorm_coop": ("layernorm", shader)}.get(shader, (shader, None))
        code = bridge._source(code) if code else ""
        if main in ("matmul", "conv2d_few"):    # and its store(), as the backend appends it
            code = bridge.appended(code, matmul.PLAIN_STORE)
        if shader == "layernorm_coop":          # its store() of the row's outputs
            code = bridge.appended(code, "fn store(i: i32, v: vec4<f32>) { out0[i] = v[0]; }")
        if shader in coop:
            main, defines, code = "reduce", (("OP", "SUM"),), bridge.coop_sum_code(coop[shader])
        if main == "reduce":        # reduce.wgsl reads its input through an appended value_at()
            code = bridge.appended(READ_BUFFER, code)
        if shader == "elementwise" and name != "elementwise":   # a reduction's fused read
            main, defines, code = "reduce", (("OP", "SUM"),), bridge.appended(
                bridge._source("elementwise"), "var<storage, read> u_in0: array<f32>;\n"
                "fn value_at(i: i32) -> f32 { return op_exp(u_in0[i], 0.0, 0.0); }\n")
        src, prog = bridge.build(main, defines, code)
        assert "fn load() {\n    u_shape = " in src and "fn main(" in src
        # a directive comes before every declaration; the default main is not added
        assert src.startswith("enable subgroups;\n") == (shader == "reduce_subgroup")
        assert src.count("fn main(") == 1
        assert [u[0] for u in prog.uniforms[:2]] == ["u_shape", "u_numel"]
        assert prog.inputs, shader


def test_uniform_packing_is_by_declaration_and_floats_travel_as_bits():
    _, prog = bridge.build("unfold", ())
    words = prog.pack({"u_shape": [1] * 6, "u_numel": 7, "u_x": [1, 2, 3, 4],
                       "u_kernel": [3, 3], "u_dil": [1, 1], "u_stride": [2, 2]})
    assert list(words) == [1] * 6 + [7, 1, 2, 3, 4, 3, 3, 1, 1, 2, 2]
    # the one-struct way and the checked way agree: floats as their bits, a float given for
    # an int truncated, a NaN given as a string, a count of one given as a sequence
    _, px = bridge.build("pixels_unpack", ())
    for vals in ({"u_shape": [1] * 6, "u_numel": 7, "u_scale": 1 / 255},
                 {"u_shape": [2.0] * 6, "u_numel": (7,), "u_scale": "NaN"},
                 {"u_shape": list(np.arange(6)), "u_numel": np.int64(7),
                  "u_scale": np.float32(0.5)}):
        assert list(px.pack(vals)) == px._pack_checked(vals)
    assert px.pack({"u_shape": [1] * 6, "u_numel": 7, "u_scale": 0.5})[-1] == \
        int(np.float32(0.5).view(np.int32))
    with pytest.raises(RuntimeError, match="uniform 'u_shape' takes 6 values, got 5"):
        px.pack({"u_shape": [1] * 5, "u_numel": 7, "u_scale": 0.5})
    with pytest.raises(RuntimeError, match="uniform 'u_dil' was not given"):
        prog.pack({"u_shape": [1] * 6, "u_numel": 7, "u_x": [1, 2, 3, 4], "u_kernel": [3, 3]})
    assert bridge._words([1.5, "NaN"], "f32")[0] == int(np.float32(1.5).view(np.int32))


def test_fused_chain_binds_each_buffer_once():
    """A buffer read two ways (dense and transposed) is one binding; where is op_where."""
    buf = object()
    dense, trans = Leaf(buf, (0, 0, 0, 0, 3, 1), 0), Leaf(buf, (0, 0, 0, 0, 1, 3), 0)
    node = Where((Apply("op_gt", (dense, Const(0.0)), None), trans, dense))
    code, inputs, uniforms = codegen.generate([node], (3, 3))
    assert list(inputs) == ["u_in0"] and code.count("var<storage, read>") == 1
    assert "op_where(op_gt(v0, u_p[0]), v1, v0)" in code
    assert uniforms["u_p"] == [0.0, 0.0] and uniforms["u_st1"][-2:] == [1, 3]
