"""The WebGPU backend: tensors live in f32 storage buffers and primitives run
as WGSL compute kernels (shaders/wgsl/*.wgsl).

It runs inside Pyodide, in the Web Worker, next to the WebGL backend: the worker registers
the JS bridge (web/js/gpu.js) as the module ``webdl_gpu`` when the page has a WebGPU
adapter. Python computes each dispatch's uniforms and bindings; gpu.js records the
dispatches into one command encoder and submits them together when Python reads a value
back (or the queue grows long), so nothing but a readback or a first compile waits.

Layout: element i of a tensor (row-major) is element i of its buffer; int64 and bool are
stored as floats (int64 exact up to 2**24: an upload or constant past it raises; WebGL
keeps int64 in int textures, exact over int32). Both backends share the lazy
elementwise IR (webgl/ir.py) and the Python side of the movement, reduction and im2col
kernels (kernels.py); matmul (matmul.py), conv2d (conv.py: a fused op, the tiled product
on hardware adapters, else direct or im2col; its backward is convolutions again, or its
composite) and attention (attention.py: fused ops on hardware adapters) are WebGPU's own.
What compiles when: a pipeline per (WGSL file, consts, generated code, output count);
shapes, strides and parameters are uniforms.
"""
import numpy as np

from ..base import Backend
from ...ops import primitives
from ... import dtypes
from ..webgl import DeviceMemory, HostTransfer, choices, int_range_error
from ..webgl.elementwise import realize_many as _realize_many
from ..webgl.ir import Const, LazyBuf, new_node
from ..webgl.shapes import numel, pad
# the kernel families register their kernels when imported
from . import attention, bridge, conv, elementwise, kernels, matmul  # noqa: F401
from .bridge import WORKGROUP, GPUBuffer
from .codegen import generate
from ..webgl.bridge import appended
from ..webgl.reduce import REDUCE_CHUNK
from ..webgl.registry import fused_ops
from .registry import KERNELS, check, elementwise_functions, missing

check(KERNELS, primitives())


def missing_kernels():
    """The primitives that have no WebGPU kernel yet (running one raises)."""
    return missing(KERNELS, primitives(), elementwise_functions(bridge._source("elementwise")))


def adapter_name(info):
    """The adapter's name for the kept kernel choices (backends/tuning.py): vendor,
    architecture and description, and whether it is a software fallback."""
    name = " ".join(filter(None, (info.get(k) for k in ("vendor", "architecture",
                                                          "description"))))
    return f"webgpu {name or '?'}" + (" (fallback adapter: software)"
                                      if info.get("isFallbackAdapter") else "")


# A sum whose first pass adds at least COOP_MIN positions per output runs cooperatively on
# hardware adapters: a workgroup of 64 invocations per output (reduce_coop.wgsl, combined by
# subgroupAdd where the device has subgroups, else a tree in workgroup memory), over chunks
# of COOP_CHUNK positions. Software adapters keep one invocation per output (SwiftShader
# switches every invocation at a barrier: see matmul.DIRECT_TILE).
COOP_MIN, COOP_CHUNK = 64, 4096
# Rows of layer_norm's and batch norm's statistics at least this long run cooperatively on
# hardware adapters (layernorm_coop.wgsl): a batch norm's channels, a layer norm of long rows.
NORM_COOP_MIN = 1024
_NORM_COOP = {}     # outputs -> the code appended to layernorm.wgsl for it
# reduce.wgsl's input when it is a buffer (a fused chain defines value_at() itself: fused_read)
READ_BUFFER = ("var<storage, read> u_a: array<f32>;\n"
               "fn value_at(at: i32) -> f32 { return u_a[at]; }\n")


class WebGPUBackend(DeviceMemory, HostTransfer, Backend):
    name = "webgpu"
    fused = fused_ops(KERNELS, primitives())
    realize = elementwise.realize
    targets = 4            # results of one shape computed by one dispatch, at most
    ir_mode = (False, False)    # the lazy IR's (typed, ternary): all f32, no ?: (ir.combine)
    stats_chunks = False        # long rows' statistics: layernorm_coop.wgsl instead (draw)

    def __init__(self):
        info = bridge.probe()
        if not info.get("ok"):
            raise RuntimeError("webgpu: " + info.get("error", "the GPU is not usable"))
        self.info = info
        # a fused chain binds its leaves and its outputs as storage buffers
        self.max_bindings = info["maxStorageBuffers"]     # a kernel's, outputs included
        self.max_leaves = min(8, self.max_bindings - 1)
        self.functions = elementwise_functions(bridge._source("elementwise"))
        self.matmul_tiled = not info["isFallbackAdapter"]     # see matmul.DIRECT_TILE
        # the cooperative sum (see COOP_MIN): "subgroup", "tree" or None (tests force each)
        self.sum_coop = None if info["isFallbackAdapter"] else \
            "subgroup" if info.get("subgroups") else "tree"
        self.conv_tiled = self.matmul_tiled                    # see conv.conv2d
        self.conv_few = True                # few output channels: conv2d_few (conv.FEW_MAX)
        self.cat_defer = True               # a cat feeding a convolution: read in parts (conv.cat)
        self.norm_coop = True               # long rows' statistics: a workgroup a row (draw)
        # reductions compute a lazy input chain where they read it (fused_read): on hardware
        # adapters whatever its inputs' strides ("strided": a broadcast bias, a slice -- the
        # divisions cost less than a dispatch of their own and a buffer written and read
        # again), on software ones when every input is read dense ("dense": as WebGL)
        self.fuses_reads = "dense" if info["isFallbackAdapter"] else "strided"
        self.conv_epilogue = True      # the tiled product deferred for its chain (conv.py)
        # attention's fused kernels (attention.py) on hardware adapters: their barriers cost
        # software ones most (SwiftShader, the attention case: 880-1020 ms fused against
        # 83-100 ms for the composite of products and softmax)
        if info["isFallbackAdapter"]:
            self.fused = self.fused - attention.OPS
        self.flat_tiles = True                                 # see matmul.tiles
        self._programs = bridge.Programs()
        self._progs = {}    # see dispatch
        self._missing = frozenset(missing_kernels())
        self.adapter = adapter_name(info)
        self.kernels = choices(self.adapter, {**matmul.VARIANTS, **conv.VARIANTS},
                               measures=False)   # ?kernels=measure: see tuning.py

    def fused_read(self, src):
        """How a reduction reads lazy chain ``src`` where it reads it: ((), inputs, uniforms,
        code defining reduce.wgsl's value_at()), or None (see codegen.generate's value mode)."""
        made = generate([src.node], src.shape, [src.template(False, False)],
                        value=self.fuses_reads)
        if made is None or len(made[1]) > self.max_leaves:
            return None
        code, inputs, uniforms = made
        return (), inputs, uniforms, appended(bridge._source("elementwise"), code)

    def has_kernel(self, name):
        return name not in self._missing

    def backend_info(self):
        return {**super().backend_info(), "adapter": self.adapter,
                "kernels": self.kernels.report()}

    def realize_many(self, bufs):
        return _realize_many(self, bufs)

    # --- data across: webgl.HostTransfer, with this backend's buffers and bridge ---------
    buffer = GPUBuffer
    transfer = bridge
    unit = "buffers"

    def full(self, shape, value, dtype):
        """A lazy constant, inlined into the chains that use it (as on WebGL)."""
        if shape and not numel(shape):      # (a scalar, the hot path: no call)
            return GPUBuffer(0)
        if dtype is dtypes.int64 and abs(value) > 1 << 24:
            raise int_range_error(self.name, [value], -(1 << 24), 1 << 24,
                                  "float32 (exact up to 2**24)")
        return LazyBuf(shape, new_node(Const, (value, False)), [], 1)

    def free(self, buf):
        buf.free()

    def empty(self):
        return GPUBuffer(0)

    def from_pixels(self, array, scale):
        """The bytes uploaded as they are (a quarter of the floats'), made floats by
        pixels_unpack.wgsl."""
        a = np.ascontiguousarray(array, dtype=np.uint8).reshape(-1)
        if not a.size:
            return super().from_pixels(array, scale)
        words = np.zeros(-(-a.size // 4) * 4, dtype=np.uint8)
        words[:a.size] = a
        raw = self.from_numpy(words.view(np.float32), dtypes.float32)
        out = GPUBuffer(a.size)
        self.dispatch("pixels_unpack", (), {"u_in": raw}, [out], (a.size,), {"u_scale": scale})
        return out

    def to_pixels(self, buf, shape):
        """Clamped, rounded and made bytes by pixels_pack.wgsl, four a word: the readback
        moves a quarter of the floats' bytes and the host converts nothing."""
        n = numel(shape)
        if not n:
            return super().to_pixels(buf, shape)
        words = GPUBuffer(-(-n // 4))
        self.dispatch("pixels_pack", (), {"u_in": buf}, [words], (words.numel,), {"u_n": n})
        raw = self.to_numpy(words, (words.numel,), dtypes.float32)
        return raw.view(np.uint8)[:n].reshape(shape)

    # --- running kernels ------------------------------------------------------------------------
    def run(self, op, bufs, shapes, out_shape, out_dtype, attrs):
        if op.elementwise:
            if 0 in out_shape:      # no elements (numel, without a call)
                return GPUBuffer(0)
            return elementwise.lazy(self, op, bufs, shapes, out_shape, out_dtype, attrs)
        kernel = KERNELS.get(op.name)
        if kernel is None:
            raise NotImplementedError(f"webgpu: op '{op.name}' has no kernel yet")
        if not kernel.lazy_inputs:
            bufs = [self.realize(b) for b in bufs]
        return kernel.run(self, bufs, shapes, out_shape, out_dtype, attrs)

    def dispatch(self, kernel, defines, inputs, outs, shape, uniforms, code="", groups=None):
        """Record one dispatch of shaders/wgsl/<kernel>.wgsl (``defines`` as consts, ``code``
        appended) writing ``outs`` and reading ``inputs`` ({name: buffer}, lazy ones realized
        first); ``u_shape``/``u_numel`` describe ``shape``; one invocation per element
        unless ``groups`` says otherwise."""
        gen = bridge.generation()
        # the program, remembered by a tuple of its arguments (the code string's hash is
        # kept; the bridge's key is a new string hashed whole each time)
        key = (kernel, defines, code, len(outs), gen)
        try:
            prog = self._progs.get(key)
        except TypeError:       # defines given as lists: unhashable, asked each time
            key, prog = None, None
        if prog is None:
            prog = self._programs.get(kernel, defines, code, len(outs), gen)
            if key is not None:
                self._progs[key] = prog
        inputs = {k: self.realize(b) for k, b in inputs.items()}
        for b in inputs.values():
            bridge.check(b, gen)
        n = numel(shape)
        uniforms["u_shape"] = pad(shape)
        uniforms["u_numel"] = n
        bridge.dispatch(prog, outs, inputs, uniforms, groups or (-(-n // WORKGROUP), 1, 1))

    def draw(self, kernel, defines, inputs, out, out_shape, uniforms, extra=(), code=""):
        """WebGL's ``draw`` (the call the shared kernel families make): one dispatch writing
        ``out`` and the ``extra`` outputs, an invocation per element of ``out_shape`` -- or
        for the row statistics of long rows on a hardware adapter, a workgroup per row
        (layernorm_coop.wgsl; see NORM_COOP_MIN)."""
        outs = [out, *extra]
        if kernel == "layernorm" and self.sum_coop and self.norm_coop and \
                uniforms["u_d"] * uniforms["u_runs"] >= NORM_COOP_MIN:
            code = _NORM_COOP.get(len(outs))
            if code is None:        # one string per count of outputs (see appended)
                store = "".join(f"    out{j}[i] = v[{j}];\n" for j in range(len(outs)))
                code = _NORM_COOP[len(outs)] = appended(
                    bridge._source("layernorm_coop"),
                    f"fn store(i: i32, v: vec4<f32>) {{\n{store}}}\n")
            self.dispatch(kernel, defines, inputs, outs, out_shape, uniforms, code,
                          groups=(numel(out_shape), 1, 1))
            return
        self.dispatch(kernel, defines, inputs, outs, out_shape, uniforms, code)

    @property
    def sum_chunk(self):
        """Positions a sum's first pass adds per output (webgl/reduce.py)."""
        return COOP_CHUNK if self.sum_coop else REDUCE_CHUNK

    def new(self, shape, kernel, defines, inputs, uniforms, packed=None, is_int=False,
            code=""):
        """A kernel's result in a new buffer (the call WebGL's kernel families make; ints
        are f32 here, so ``is_int`` changes nothing; ``code`` appended to the kernel). A
        long sum runs cooperatively (see COOP_MIN)."""
        if packed is not None:
            raise NotImplementedError("webgpu: packed intermediates are WebGL's")
        out = GPUBuffer(numel(shape))
        if not out.numel:
            return out
        if kernel == "reduce":
            code = code or READ_BUFFER
            if self.sum_coop and defines == (("OP", "SUM"),) and \
                    -(-uniforms["u_r1"][0] * uniforms["u_r2"][0] // uniforms["u_split"]) \
                    >= COOP_MIN:
                self.dispatch("reduce", defines, inputs, [out], shape, uniforms,
                              code=appended(code, bridge.coop_sum_code(self.sum_coop)),
                              groups=(out.numel, 1, 1))
                return out
        self.dispatch(kernel, defines, inputs, [out], shape, uniforms, code=code)
        return out

