"""matmul: shaders/wgsl/matmul.wgsl, 64x64 output tiles staged through workgroup memory, with
matmul_operands.wgsl (or matmul_direct.wgsl on software adapters), operands read in place
(views such as a transposed weight need no copy)."""
from ...ops.linalg import read_shape
from ..webgl.bridge import appended
from ..webgl.movement import operands
from ..webgl.shapes import numel
from .bridge import GPUBuffer, _source
from .registry import register
from ..tuning import bucket

MAX_BATCH_DIMS = 4     # matmul.wgsl's batch strides


# matmul.wgsl's workgroup shapes (WX, WY) by name: 4x4 outputs per invocation, so 4*WY rows
# by 4*WX columns per workgroup. Which one a product gets: tile_name, or on a hardware
# adapter the fastest measured for its shape class (backends/tuning.py), the direct kernel
# included.
TILES = {"t64x4": (64, 4), "t32x8": (32, 8), "t16x16": (16, 16)}
VARIANTS = {"matmul": (*TILES, "direct")}
# products between these sizes (multiply-adds) are the shape classes timed
TUNE_MACS = (1 << 12, 1 << 30)
# matmul.wgsl's store of an output value as it is (conv.py's epilogues are others); the
# code appended to matmul.wgsl is appended(<operands' source>, <store>)
PLAIN_STORE = "fn store(i: i32, v: f32) -> f32 { return v; }\n"


def tile_name(n, flat=True):
    """The built-in workgroup shape for a product of ``n`` rows: 64 x 64 output blocks, or
    flatter ones (16 x 256, 32 x 128) where there are few rows (``flat``:
    WebGPUBackend.flat_tiles), so that a workgroup does not compute mostly past the edge."""
    return "t64x4" if flat and n <= 16 else "t32x8" if flat and n <= 32 else "t16x16"


def tiles(name):
    """(defines, rows per block, columns per block) of workgroup shape ``name``."""
    wx, wy = TILES[name]
    return (("WX", wx), ("WY", wy)), 4 * wy, 4 * wx
# On a fallback (software) adapter -- SwiftShader here -- matmul_direct.wgsl (8x8 invocations
# of 4x4 outputs each, no workgroup memory) replaces the tiled kernel: SwiftShader runs
# invocations as coroutines and a barrier switches every one of them. Measured on
# SwiftShader (ms, one product, its sum and readback; tiled -> direct): (16, 72) @ (32, 72,
# 256) 382 -> 15.5, 256^3 101 -> 30.6, 512^3 861 -> 312 (WebGL's packed kernel: 22, 13, 97).
# ``WebGPUBackend.matmul_tiled`` holds the choice (tests set it to check both kernels).
DIRECT_TILE = 32


@register("matmul", shaders=("matmul", "matmul_operands", "matmul_direct"), lazy_inputs=True)
def matmul(be, bufs, shapes, shape, dtype, attrs):
    k = read_shape(shapes[0], attrs.get("ta"), attrs.get("flat"))[-1]    # A as read
    if numel(shape) == 0:
        return GPUBuffer(0)
    if k == 0:
        return be.full(shape, 0.0, None)
    batch = list(shape[:-2])
    if len(batch) > MAX_BATCH_DIMS:
        raise NotImplementedError(f"webgpu: matmul with more than {MAX_BATCH_DIMS} batch dims "
                                  f"(shape {tuple(shape)})")
    nb = numel(batch)
    if nb > be.info.get("maxWorkgroups", 65535):
        raise NotImplementedError(f"webgpu: matmul over {nb} matrices (at most "
                                  f"{be.info.get('maxWorkgroups', 65535)} per dispatch)")
    ((ta, sta, oa), (tb, stb, ob)), (sa, sb) = operands(be, bufs, shapes, attrs)
    n, m = sa[-2], sb[-1]

    def strides(s, st):    # 4 batch strides (0 where broadcast), row, column
        bs = [1] * (len(batch) - len(s[:-2])) + list(s[:-2])
        bst = [0] * (len(batch) - len(s[:-2])) + list(st[:-2])
        return [0] * (MAX_BATCH_DIMS - len(bs)) + \
            [0 if d == 1 else t for d, t in zip(bs, bst)] + list(st[-2:])
    uniforms = {"u_nkm": [n, k, m], "u_batch": [1] * (MAX_BATCH_DIMS - len(batch)) + batch,
                "u_a_st": strides(sa, sta), "u_b_st": strides(sb, stb),
                "u_a_off": oa, "u_b_off": ob}

    def run(v):
        out = GPUBuffer(numel(shape))
        if v == "direct":
            kern, defines, tm, tn = "matmul_direct", (), DIRECT_TILE, DIRECT_TILE
        else:
            kern, (defines, tm, tn) = "matmul", tiles(v)
        be.dispatch(kern, defines, {"u_a": ta, "u_b": tb}, [out], shape, dict(uniforms),
                    code=appended(_source("matmul_operands"), PLAIN_STORE),
                    groups=(-(-m // tn), -(-n // tm), nb))
        return out
    # software adapters take the kernel without workgroup memory (see DIRECT_TILE)
    default = tile_name(n, be.flat_tiles) if be.matmul_tiled else "direct"
    macs = nb * n * k * m
    v = be.kernels.choose("matmul", f"{bucket(n, 2)}.{bucket(k, 2)}.{bucket(m, 2)}.{int(nb > 1)}",
                          VARIANTS["matmul"], default, run, be.sync,
                          TUNE_MACS[0] < macs <= TUNE_MACS[1] and not be.recording())
    return run(v)
