"""The WebGL2 backend: tensors live on the GPU as R32F textures and primitives run as GLSL
ES 3.0 fragment shaders (shaders/*.glsl).

It runs inside Pyodide (a worker or a page's main thread); ``bridge`` evaluates the JS
bridge (webdl/_js/gl.js, package data), which owns the WebGL2 context. Python computes each
draw's uniforms (shapes, strides, parameters) and the bridge makes the GL calls. Data
crosses to Python only in ``to_numpy`` (``.numpy()``, ``.item()``, printing).

Layout: element i of a tensor (row-major) is texel (i % width, i / width); the width
depends on the element count only, so reshape is free. int64 tensors are R32I textures
(int32 values: uploads outside the int32 range raise; integer arithmetic, comparisons,
gather indices, sums, argmax/argmin positions and cumsum are exact over int32); bool is
stored as float 0/1. A kernel registered without ``ints`` (matmul, conv, softmax, fold,
unfold) refuses int64 tensors rather than computing them in float32.

The float16 path: where the GPU renders to float16 textures but not to float32 ones
(EXT_color_buffer_half_float without EXT_color_buffer_float; ``?gpu=half`` forces it), what
float tensors are stored as float16 (relative error up to 2**-11 per stored value; the
arithmetic inside each shader stays highp float), uploads included, so that a value
compares equal to itself whatever computed it (max's gradient finds its argument).
int64 tensors are R32I there too (core WebGL2 renders to and reads back R32I without an
extension), so integers stay exact over int32 on this path as well. Uploaded bool data
stays float32 (R32F textures are sampled in core WebGL2, only rendering into them needs the
extension), and Python keeps a copy of it to read back, as such a texture can't be read;
bools computed on the GPU are 0/1, exact in float16.

The parts: ``registry`` (which kernel runs each primitive), ``elementwise`` and ``ir``
(elementwise ops fuse lazily into generated shaders), ``movement``, ``reduce``, ``matmul``
and ``conv`` (the kernel families), ``bridge`` (the JS calls, buffers and programs) and
``shapes``.

What compiles when: a program is compiled once per shader file, set of #defines and
generated code (bridge.Programs). Shapes, strides and parameters are uniforms, so the
hand-written kernels compile once per set of defines whatever the shapes: reduce once per
OP, cat per input count N, each pass of the packed matmul once, the packed conv's packing
passes once (PACK_X twice: from a tensor, or FROM a convolution's targets), its CONV pass
per column count COLS, and also per kernel size KH/KW (kernels of up to 49 taps)
and ONE_BLOCK_X. A fused elementwise chain gets generated code (ir.generate), compiled once
per expression structure, input layout (dense or strided, merged rank; a product still in
a packed kernel's targets, ir.Packed, by its kind) and output count; constants, shapes and
strides in it are uniforms.
"""
import weakref

import numpy as np

from ..base import Backend
from ..tuning import KernelChoice, software
from ... import dtypes
from ...ops import primitives
# the kernel families register their kernels when imported
from . import bridge, conv, elementwise, matmul, movement, reduce  # noqa: F401
from .bridge import MAX_TARGETS, GLBuffer
from .elementwise import lazy
from .ir import Const, LazyBuf, generate, new_node
from .registry import KERNELS, check, fused_ops
from .shapes import numel, pad

check(KERNELS, primitives())

# Uploaded int64/bool tensors (indices, masks) of at most this many elements keep a host
# copy (the limit bounds the host memory kept), so reading them back (cross_entropy's
# target check, index bounds) needs no GPU round trip: with it, the benchmark CNN's Adam
# step went from 530 ms to 272 ms (commit a740745, together with the two-column conv).
HOST_COPY_MAX = 1 << 16
INT32 = (-(1 << 31), (1 << 31) - 1)



def int_range_error(backend, values, lo, hi, stored):
    """The error for int64 ``values`` outside [lo, hi], the integers ``backend`` stores
    exactly (as ``stored``)."""
    return ValueError(f"{backend}: int64 values must lie in [{lo}, {hi}] on {backend}, which "
                      f"stores integers as {stored}; got values in [{int(np.min(values))}, "
                      f"{int(np.max(values))}]. Keep this tensor on 'cpu' (int64 beyond that "
                      "range is not supported on the GPU)")


# The shaders that read and write split tensors (larger than one texture: texture arrays,
# see gl.js and common.glsl): they read their inputs only through fetch() and index their
# output only through out_index(). Any other kernel given a split tensor raises.
SPLIT_SHADERS = frozenset(("elementwise", "gather", "scatter_add", "reduce", "softmax",
                           "layernorm", "matmul", "matmul_packed", "cat"))


def choices(renderer, families, measures=True):
    """The GPU backends' kernel choice (backends/tuning.py) for ``renderer``, with the mode
    and the kept choices the host gives (``webdlConfig.kernels``, ``kernelChoices``) and
    its ``saveKernelChoices(renderer, json)`` to keep new ones (webdl's worker keeps them
    in IndexedDB); ``measures``: whether a hardware renderer measures unless told (see
    tuning.py)."""
    save = bridge.config_value("saveKernelChoices")
    return KernelChoice(families, renderer, bridge.config_value("kernels"),
                        bridge.config_value("kernelChoices"),
                        (lambda r, text: save(r, text)) if save is not None else None,
                        measures=measures)


class HostTransfer:
    """Copies between numpy and a GPU backend's buffers, shared by the GPU backends: the
    class names its buffer type (``buffer``), the bridge module that moves the data
    (``transfer``: upload, check, download), how many values a readback of n writes, and
    how it stores int64 (``int_textures``: as int32, exact over the int32 range, in buffers
    made with ``is_int=True``; otherwise as float32, exact up to 2**24 in magnitude). Either
    way an int64 upload outside what is stored exactly raises instead of rounding."""
    int_textures = False

    def _download_size(self, n):
        return n

    def _upload_buffer(self, n, dtype):
        return self.buffer(n)

    def _keeps_host(self, dtype, n):
        """Whether an upload keeps a host copy that readbacks return."""
        return not dtype.is_floating_point and n <= HOST_COPY_MAX

    def _int_values(self, array):
        """int64 ``array`` as the values the buffer stores, range-checked."""
        v = np.ascontiguousarray(array, dtype=np.int64).reshape(-1)
        if self.int_textures:
            (lo, hi), stored, kind = INT32, "int32", np.int32
        else:
            lo, hi, stored, kind = -(1 << 24), 1 << 24, "float32 (exact up to 2**24)", np.float32
        if v.size and (v.min() < lo or v.max() > hi):
            raise int_range_error(self.name, v, lo, hi, stored)
        return v.astype(kind)

    def from_numpy(self, array, dtype, constant=False):
        if dtype is dtypes.int64:
            a = self._int_values(array)
        else:
            a = np.ascontiguousarray(array, dtype=np.float32).reshape(-1)
        buf = self._upload_buffer(a.size, dtype)
        if self._keeps_host(dtype, a.size):
            buf.host = np.array(array, dtype=dtype.np).reshape(-1)
        if a.size:
            self.transfer.upload(buf, a, constant)
        return buf

    def to_numpy(self, buf, shape, dtype):
        n = numel(shape)
        if n == 0:
            return np.zeros(shape, dtype=dtype.np)
        if type(buf) is LazyBuf and buf.real is None:
            self.settle_all()   # held writes (this one, maybe) computed together first
        buf = self.realize(buf)
        self.transfer.check(buf)
        if buf.host is not None:
            return buf.host.reshape(shape).astype(dtype.np, copy=True)
        self.settle_all()       # the held writes go with this flush
        is_int = getattr(buf, "is_int", False)
        data = np.empty(self._download_size(n), dtype=np.int32 if is_int else np.float32)
        self.transfer.download(buf, n, data)
        data = data[:n].reshape(shape)
        if dtype.name == "bool":
            return data != 0
        if dtype.name == "int64":
            return data.astype(np.int64) if is_int else np.rint(data).astype(np.int64)
        return data


class DeviceMemory:
    """``memory_stats``, ``empty_cache`` and ``reset_peak_memory_stats`` of a GPU backend,
    shared by the GPU backends: the bridge module (``transfer``) reports its own keys
    (``unit``, the number of live textures or buffers, ``bytes``, the pool, ...) and this
    adds PyTorch's names for them (``torch.cuda.memory_stats``): allocated is what live
    tensors hold, reserved adds the pool of freed ones kept for reuse (and WebGPU's pooled
    readback buffers), peaks run from start-up or the last ``reset_peak_memory_stats``; an
    allocation or a segment is one texture or buffer."""
    unit = "textures"

    def memory_stats(self):
        s = self.transfer.memory_stats()
        pooled = "pooled" + self.unit.capitalize()
        peak = "peak" + self.unit.capitalize()
        s.update({
            "allocated_bytes.all.current": s["bytes"],
            "allocated_bytes.all.peak": s["peakBytes"],
            "reserved_bytes.all.current": s["reservedBytes"],
            "reserved_bytes.all.peak": s["peakReservedBytes"],
            "allocation.all.current": s[self.unit],
            "allocation.all.peak": s[peak],
            "segment.all.current": s[self.unit] + s[pooled] + s.get("stagingBuffers", 0),
        })
        return s

    def empty_cache(self):
        self.transfer.empty_cache()

    def reset_peak_memory_stats(self):
        self.transfer.reset_peak_memory_stats()

    # --- writes: in-place writes computed together ---------------------------------------------
    # A step writes many small tensors in place (batch norm's running statistics and counts,
    # an optimizer's state): each computed at once was a draw of its own. ``settle`` holds
    # them (lazy expressions, which stay valid: they read immutable buffers) until a readback,
    # a sync, a record's start or end, or WRITES_MAX of them, then computes them all with
    # realize_many: those of one shape in one draw (a render target, or an output, each).
    # Held weakly: a write that a later one replaced (x.add_(1).mul_(2): the first value,
    # inlined into the second) or whose tensor is gone is not drawn at all.
    WRITES_MAX = 256
    _writes = ()        # (generation, weakref to a LazyBuf) held, per backend once it writes

    def settle(self, buf):
        if type(buf) is not LazyBuf or buf.real is not None or buf.node is None:
            return buf
        if not self._writes:
            self._writes = []
        self._writes.append((self.transfer._gen[0], weakref.ref(buf)))
        if len(self._writes) >= self.WRITES_MAX:
            self.settle_all()
        return buf

    def sync(self):
        """Wait until the GPU has run everything sent, held writes included (for timing:
        the bench, kernel choice)."""
        self.settle_all()
        self.transfer.sync()

    def settle_all(self):
        """Compute the held writes now (those of a lost context are dropped: their tensors
        refuse when used)."""
        if not self._writes:
            return
        gen, held, self._writes = self.transfer._gen[0], self._writes, []
        live = [(g, r()) for g, r in held]
        self.realize_many([b for g, b in live if g == gen and b is not None and
                           b.real is None and b.node is not None])

    # --- webdl.compile: a call's GPU commands recorded once, then replayed (the bridges'
    # record_begin / record_end / replay) ------------------------------------------------------
    records = True

    def record_begin(self):
        self.settle_all()       # writes made before: not part of the record
        self.transfer.record_begin()

    def recording(self):
        """Whether a call is being recorded now (its inner calls are part of that record)."""
        return self.transfer._rec[0] is not None

    def record_cancel(self):
        self.transfer.record_cancel()

    def record_end(self, inputs, kept, outputs, owned=()):
        """The call's Recording, or why it has none (a string); all buffers realized.
        ``owned``: inputs the call may free (see the bridges' record_end)."""
        self.settle_all()       # the call's writes: part of the record
        return self.transfer.record_end(inputs, {b.id for b in kept if b.id}, outputs,
                                        {b.id for b in owned if b.id})

    def unrecorded(self, fn):
        """``fn()``, its GPU work sent now and left out of the record being made (a packed
        copy kept outside it, a host input)."""
        rec, flush = self.transfer._rec, self.transfer.flush
        tr = rec[0]
        if tr is None:
            return fn()
        flush()
        rec[0] = None
        try:
            out = fn()
            flush()
        finally:
            rec[0] = tr
        return out

    def replay(self, record, inputs):
        """The output buffers of ``record`` run on ``inputs``, or None (run the call)."""
        return self.transfer.replay(record, inputs)


class WebGLBackend(DeviceMemory, HostTransfer, Backend):
    name = "webgl"
    int_textures = True
    fused = fused_ops(KERNELS, primitives())
    realize = elementwise.realize
    realize_many = elementwise.realize_many
    max_leaves = elementwise.MAX_LEAVES     # distinct textures a fused chain reads at most
    # reductions compute an elementwise chain where they read it (reduce.py; ir.generate's
    # value function) instead of drawing it first: "dense" chains (every input read at the
    # position itself), "strided" ones too (a position unravelled per read), or none
    # (False). "strided" measured slower on SwiftShader and the same on the H100 (compiled
    # transformer step, Vulkan, two rounds: 33.8-37.5 ms against 34.2-36.5 dense and
    # 34.0-34.9 none), so "dense" everywhere -- even for small chains: fusing those of at
    # most 4096 (or 512) elements made small models' steps slower on SwiftShader, one page,
    # four alternations (makemore GRU 47-49 -> 53-60 ms, nanoGPT 31-32 -> 34-35, 2026-11-28)
    # though it saved draws (GRU 1 a step, the MLP 9).
    fuses_reads = "dense"
    ir_mode = (True, True)      # the lazy IR's (typed, ternary): GLSL ints, ?: (ir.combine)
    sum_chunk = reduce.REDUCE_CHUNK     # positions a sum's first pass adds per output

    def fused_read(self, src):
        """How a reduction reads lazy chain ``src`` where it reads it (reduce.glsl's FUSED:
        value(i), the chain at position i): (defines, inputs, uniforms, code), or None
        where an input is not dense and fuses_reads says "dense"."""
        made = generate([src.node], src.shape, ints=[src.is_int],
                        tpls=[src.template(True, True)], fn=True,
                        any_read=self.fuses_reads == "strided")
        if made is None:
            return None
        code, inputs, uniforms = made
        return ((("FUSED", 1),) + ((("VALUE_INT", 1),) if src.is_int else ()), inputs,
                uniforms, bridge.appended(bridge._shader("elementwise"), code))

    def __init__(self):
        info = bridge.probe()
        if not info.get("ok"):
            raise RuntimeError("webgl: " + info.get("error", "the GPU is not usable"))
        self.info = info
        width = self._row = info["maxWidth"]       # a tensor's texture is this wide or one row
        if width & (width - 1):
            raise RuntimeError(f"webgl: texture row width {width} is not a power of two")
        self.storage = info["storage"]
        self.half = self.storage == "float16"               # the float16 path
        # every program gets LOG2W and LOG2R, and HALF on the float16 path (see
        # shaders/common.glsl)
        self._programs = bridge.Programs(self._layout())
        self._pids = {}     # see _program
        self.targets = min(MAX_TARGETS, info["maxDrawBuffers"])   # render targets per draw
        # the side of the packed matmul's RGBA textures, at most (tests lower it)
        self.max_texture = info["maxTextureSize"]
        self._op = None     # the primitive running, for the split tensor error
        self._derived = weakref.WeakKeyDictionary()     # see derived
        self.kernels = choices(info["renderer"], {**matmul.VARIANTS, **conv.VARIANTS})
        # long rows' statistics summed in chunks (reduce.STATS_CHUNKED_MIN) on a hardware
        # renderer; a fragment per row on a software one (its few threads are busy anyway)
        self.stats_chunks = not software(info["renderer"])
        self.conv_split = self.stats_chunks     # long sums over few outputs (conv.conv2d)

    def _layout(self):
        return (("LOG2W", self._row.bit_length() - 1),
                ("LOG2S", self.info["smallWidth"].bit_length() - 1),
                ("LOG2R", self.info["layerRows"].bit_length() - 1)) + \
            ((("HALF", 1),) if self.half else ())

    # Buffers no larger than this many elements keep the buffers derived from them (their
    # packed copies): a weight read by the steps of a recurrent layer is packed once.
    DERIVED_MAX = 1 << 22

    def derived(self, src, key, make, first=False):
        """``make(src)``, a buffer computed from buffer ``src`` alone (``key`` names how).
        From the second time ``src`` is read this way, or in a record (made to be replayed),
        it is made once and kept while ``src`` lives (buffers are written once, when made),
        outside any record, which fetches it anew for its source at each replay (see
        bridge.derived); read once (a weight in a training step), it costs no memory past
        its use. With ``first``, kept from the first read: a matmul's left operand, an
        activation that a training step's backward packs again the same way (the right
        operand of its weight's gradient), kept while the activation lives. Sources larger
        than DERIVED_MAX, and those the record being made allocated, get a buffer of their
        own each time."""
        if src.numel > self.DERIVED_MAX or bridge.made_in_record(src) or \
                self.kernels.measuring:     # variants timed: each run packs anew
            return make(src)
        memo = self._derived.get(src)
        if memo is None:
            memo = self._derived[src] = {}
            if not self.recording() and not first:    # seen once
                return make(src)
        buf = memo.get(key)
        if buf is None:
            buf = memo[key] = self.unrecorded(lambda: make(src))
        bridge.derived(buf, src, lambda s: self.derived(s, key, make))
        return buf

    def empty_cache(self):
        """Also drops the kept packed copies (``derived``): made again when next read twice."""
        self._derived.clear()
        super().empty_cache()

    def set_split(self, above, layer_rows, max_texture=None):
        """Test hook: split tensors of more than ``above`` elements into layers of
        ``layer_rows`` rows, and keep the packed matmul's textures within ``max_texture``
        (default: the GPU's limit), so the split paths run at small sizes. Split tensors
        made under other settings can't be read after (draw raises)."""
        self.info.update(bridge.set_split(above, layer_rows))
        self.max_texture = max_texture or self.info["maxTextureSize"]
        self._programs.set_layout(self._layout())
        self._pids.clear()

    def backend_info(self):
        info = self.info
        return {"storage": self.storage, "precision": info["precision"],
                "renderer": info["renderer"], "version": info["version"],
                "kernels": self.kernels.report()}

    # --- data across: HostTransfer ---------------------------------------------------------
    buffer = GLBuffer
    transfer = bridge

    def _download_size(self, n):
        width = min(n, self.info["smallWidth"]) if bridge.is_small(n) else self._row
        return -(-n // width) * width                 # readback takes whole texture rows

    # int64 goes to R32I textures (rendered into and read back without an extension); on the
    # float16 path uploaded bools go to R32F textures, which can't be read back: their host
    # copy answers instead
    def _upload_buffer(self, n, dtype):
        return GLBuffer(n, upload=self.half and dtype is dtypes.bool_,
                        is_int=dtype is dtypes.int64)

    def _keeps_host(self, dtype, n):
        return (self.half and dtype is dtypes.bool_) or super()._keeps_host(dtype, n)

    def full(self, shape, value, dtype):
        """A lazy constant: inlined as a uniform into the elementwise chains that use it,
        drawn only when another kernel needs it as a texture."""
        if shape:       # (a scalar -- an operand of an op, the hot path -- fits anywhere)
            n = numel(shape)
            if not n:
                return GLBuffer(0)
            most = self.info["maxSplit"]
            if n > most:     # refused now, as a texture would be (gl.js alloc says the same)
                raise RuntimeError(f"webgl: a tensor of {n} elements exceeds the largest "
                                   f"split texture ({most} elements)")
        is_int = dtype is dtypes.int64
        if is_int and not INT32[0] <= value <= INT32[1]:
            raise int_range_error(self.name, [value], *INT32, "int32")
        return LazyBuf(shape, new_node(Const, (value, is_int)), [], 1, is_int)

    def free(self, buf):
        buf.free()

    def empty(self):
        """The buffer of a tensor with no elements (the kernel families share this call
        with the WebGPU backend)."""
        return GLBuffer(0)

    # --- running kernels ------------------------------------------------------------------------
    def run(self, op, bufs, shapes, out_shape, out_dtype, attrs):
        if op.elementwise:
            if 0 in out_shape:      # no elements (numel, without a call)
                return GLBuffer(0)
            return lazy(self, op, bufs, shapes, out_shape, out_dtype, attrs)
        kernel = KERNELS.get(op.name)
        if kernel is None:
            raise NotImplementedError(f"webgl: op '{op.name}' has no GPU kernel yet")
        if not kernel.ints and (out_dtype is dtypes.int64 or
                                any(getattr(b, "is_int", False) for b in bufs)):
            raise NotImplementedError(f"webgl: '{op.name}' of int64 tensors is not supported "
                                      "(its kernel computes in float32, exact only up to "
                                      "2**24); convert with .float() first")
        self._op = op.name
        try:
            if not kernel.lazy_inputs:
                bufs = [self.realize(b) for b in bufs]
            return kernel.run(self, bufs, shapes, out_shape, out_dtype, attrs)
        finally:
            self._op = None

    def draw(self, kernel, defines, inputs, out, out_shape, uniforms, extra=(), code=""):
        """Draw shaders/<kernel>.glsl (compiled with ``defines``, and ``code`` appended) into
        ``out`` (and the ``extra`` targets), reading ``inputs`` ({sampler: buffer}, lazy
        ones realized first); ``u_shape`` is set to ``out_shape``. Int textures get their
        defines (common.glsl): OUT_INT for an int ``out``, INT_<sampler> per int input."""
        real, ints, arrays, smalls = {}, (), (), ()
        gen = bridge._gen[0]
        for k, b in inputs.items():     # one pass: realized, checked, int, split, small noted
            if type(b) is LazyBuf:
                b = self.realize(b)
            if b.id is None or b.gen != gen:
                bridge.check(b)         # raises: freed, or of a lost context
            if b.is_int:
                ints += ((f"INT_{k}", 1),)
            if b.split:
                arrays += (k,)
            elif b.small:
                smalls += (k,)
            real[k] = b
        inputs = real
        if ints or out.is_int:
            defines = tuple(defines) + ((("OUT_INT", 1),) if out.is_int else ()) + ints
        if arrays or out.split:
            self._check_split(kernel, list(inputs.values()) + [out, *extra])
            if out.split:
                defines = tuple(defines) + (("SPLIT_OUT", 1),)
        if out.small:
            defines = tuple(defines) + (("SMALL_OUT", 1),)
        pid = self._program(kernel, defines, code, arrays, smalls)
        uniforms["u_shape"] = pad(out_shape)
        bridge.draw(pid, out, inputs, uniforms, extra)
        return out

    def _program(self, kernel, defines, code, arrays, smalls=()):
        """``self._programs.get``, remembered by a tuple of its arguments: the generated
        code is one string object per structure (ir._CODE) whose hash is kept, where the
        program key the bridge builds is a new string hashed whole on every draw."""
        key = (kernel, defines, code, arrays, smalls, bridge._gen[0])
        try:
            pid = self._pids.get(key)
        except TypeError:       # defines given as lists: unhashable, asked each time
            return self._programs.get(kernel, defines, code, arrays, smalls)
        if pid is None:
            pid = self._pids[key] = self._programs.get(kernel, defines, code, arrays, smalls)
        return pid

    def _check_split(self, kernel, bufs):
        """Raise unless ``kernel`` takes split tensors and ``bufs``' split ones are split
        as gl.js splits now."""
        big = max((b.numel for b in bufs if b.split), default=0)
        if kernel not in SPLIT_SHADERS:
            what = f"op '{self._op}'" if self._op else f"kernel '{kernel}'"
            raise NotImplementedError(
                f"webgl: {what} can't take a tensor of {big} elements, larger than one "
                f"texture ({self.info['splitAbove']} elements): such tensors are split "
                "across texture layers, which only elementwise ops, reductions, softmax, "
                "matmul, gather/scatter_add (embedding), cat and copies to and from the host "
                "handle")
        rows = self.info["layerRows"]
        if any(b.split and b.split != rows for b in bufs):
            raise RuntimeError("webgl: a split tensor made under other split settings "
                               "(set_split) can't be read now")

    def new(self, shape, kernel, defines, inputs, uniforms, packed=None, is_int=False,
            code=""):
        """Draw a kernel into a new buffer: a tensor of ``shape`` (an int texture with
        ``is_int``), or with ``packed=(w, h)`` an RGBA texture of that size for a packed
        kernel's intermediate; ``code``: appended to the kernel (see draw)."""
        out = GLBuffer(numel(shape), packed, is_int=is_int)
        if out.numel:
            self.draw(kernel, defines, inputs, out, shape, uniforms, code=code)
        return out
