"""The WebGL2 backend: tensors live on the GPU as R32F textures and primitives run as GLSL
ES 3.0 fragment shaders (shaders/*.glsl).

It runs inside Pyodide (a worker or a page's main thread); ``bridge`` evaluates the JS
bridge (webdl/_js/gl.js, package data), which owns the WebGL2 context. Python computes each
draw's uniforms (shapes, strides, parameters) and the bridge makes the GL calls. Data
crosses to Python only in ``to_numpy`` (``.numpy()``, ``.item()``, printing).

Layout: element i of a tensor (row-major) is texel (i % width, i / width); the width
depends on the element count only, so reshape is free. int64 and bool are stored as
floats (exact up to 2**24).

The parts: ``registry`` (which kernel runs each primitive), ``elementwise`` and ``ir``
(elementwise ops fuse lazily into generated shaders), ``movement``, ``reduce``, ``matmul``
and ``conv`` (the kernel families), ``bridge`` (the JS calls, buffers and programs) and
``shapes``.

What compiles when: a program is compiled once per shader file, set of #defines and
generated code (bridge.Programs). Shapes, strides and parameters are uniforms, so the
hand-written kernels compile once per set of defines whatever the shapes: reduce once per
OP, cat per input count N, each pass of the packed matmul once, the packed conv's packing
passes once, its CONV and UNPACK passes per column count COLS, and CONV also per kernel
size KH/KW (kernels of up to 49 taps) and ONE_BLOCK_X. A fused elementwise chain gets
generated code (ir.generate), compiled once per expression structure, input layout (dense
or strided, merged rank) and output count; constants, shapes and strides in it are
uniforms.
"""
import numpy as np

from ..base import Backend
from ...ops import primitives
# the kernel families register their kernels when imported
from . import bridge, conv, elementwise, matmul, movement, reduce  # noqa: F401
from .bridge import MAX_TARGETS, GLBuffer
from .elementwise import lazy
from .ir import Const, LazyBuf
from .registry import KERNELS, check, fused_ops
from .shapes import numel, pad

check(KERNELS, primitives())

# Uploaded int64/bool tensors (indices, masks) of at most this many elements keep a host
# copy (the limit bounds the host memory kept), so reading them back (cross_entropy's
# target check, index bounds) needs no GPU round trip: with it, the benchmark CNN's Adam
# step went from 530 ms to 272 ms (commit a740745, together with the two-column conv).
HOST_COPY_MAX = 1 << 16


class HostTransfer:
    """Copies between numpy and a GPU backend's buffers, shared by the GPU backends: the
    class names its buffer type (``buffer``), the bridge module that moves the data
    (``transfer``: upload, check, download) and how many floats a readback of n writes."""

    def _download_size(self, n):
        return n

    def from_numpy(self, array, dtype):
        a = np.ascontiguousarray(array, dtype=np.float32).reshape(-1)
        buf = self.buffer(a.size)
        if not dtype.is_floating_point and a.size <= HOST_COPY_MAX:
            buf.host = np.array(array, dtype=dtype.np).reshape(-1)
        if a.size:
            self.transfer.upload(buf, a)
        return buf

    def to_numpy(self, buf, shape, dtype):
        n = numel(shape)
        if n == 0:
            return np.zeros(shape, dtype=dtype.np)
        buf = self.realize(buf)
        self.transfer.check(buf)
        if buf.host is not None:
            return buf.host.reshape(shape).astype(dtype.np, copy=True)
        data = np.empty(self._download_size(n), dtype=np.float32)
        self.transfer.download(buf, n, data)
        data = data[:n].reshape(shape)
        if dtype.name == "bool":
            return data != 0
        if dtype.name == "int64":
            return np.rint(data).astype(np.int64)
        return data


class DeviceMemory:
    """``memory_stats``, ``empty_cache`` and ``reset_peak_memory_stats`` of a GPU backend,
    shared by the GPU backends: the bridge module (``transfer``) reports its own keys
    (``unit``, the number of live textures or buffers, ``bytes``, the pool, ...) and this
    adds PyTorch's names for them (``torch.cuda.memory_stats``): allocated is what live
    tensors hold, reserved adds the pool of freed ones kept for reuse, peaks run from start-up
    or the last ``reset_peak_memory_stats``; an allocation or a segment is one texture or
    buffer."""
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
            "segment.all.current": s[self.unit] + s[pooled],
        })
        return s

    def empty_cache(self):
        self.transfer.empty_cache()

    def reset_peak_memory_stats(self):
        self.transfer.reset_peak_memory_stats()


class WebGLBackend(DeviceMemory, HostTransfer, Backend):
    name = "webgl"
    fused = fused_ops(KERNELS, primitives())
    realize = elementwise.realize
    realize_many = elementwise.realize_many
    max_leaves = elementwise.MAX_LEAVES     # distinct textures a fused chain reads at most

    def __init__(self):
        info = bridge.probe()
        if not info.get("ok"):
            raise RuntimeError("webgl: " + info.get("error", "the GPU is not usable"))
        self.info = info
        width = self._row = info["maxWidth"]       # a tensor's texture is this wide or one row
        if width & (width - 1):
            raise RuntimeError(f"webgl: texture row width {width} is not a power of two")
        # every program gets LOG2W (see shaders/common.glsl)
        self._programs = bridge.Programs((("LOG2W", width.bit_length() - 1),))
        self.targets = min(MAX_TARGETS, info["maxDrawBuffers"])   # render targets per draw

    # --- data across: HostTransfer ---------------------------------------------------------
    buffer = GLBuffer
    transfer = bridge

    def _download_size(self, n):
        width = min(n, self._row)
        return -(-n // width) * width                 # readback takes whole texture rows

    def full(self, shape, value, dtype):
        """A lazy constant: inlined as a uniform into the elementwise chains that use it,
        drawn only when another kernel needs it as a texture."""
        n = numel(shape)
        if not n:
            return GLBuffer(0)
        most = self._row * self.info["maxTextureSize"]
        if n > most:     # refused now, as a texture would be (gl.js alloc says the same)
            raise RuntimeError(f"webgl: a tensor of {n} elements exceeds the largest texture "
                               f"({most} elements)")
        return LazyBuf(shape, Const(value), [], 1)

    def free(self, buf):
        buf.free()

    def empty(self):
        """The buffer of a tensor with no elements (the kernel families share this call
        with the WebGPU backend)."""
        return GLBuffer(0)

    # --- running kernels ------------------------------------------------------------------------
    def run(self, op, bufs, shapes, out_shape, out_dtype, attrs):
        if op.elementwise:
            if not numel(out_shape):
                return GLBuffer(0)
            return lazy(self, op, bufs, shapes, out_shape, out_dtype, attrs)
        kernel = KERNELS.get(op.name)
        if kernel is None:
            raise NotImplementedError(f"webgl: op '{op.name}' has no GPU kernel yet")
        if not kernel.lazy_inputs:
            bufs = [self.realize(b) for b in bufs]
        return kernel.run(self, bufs, shapes, out_shape, out_dtype, attrs)

    def draw(self, kernel, defines, inputs, out, out_shape, uniforms, extra=(), code=""):
        """Draw shaders/<kernel>.glsl (compiled with ``defines``, and ``code`` appended) into
        ``out`` (and the ``extra`` targets), reading ``inputs`` ({sampler: buffer}, lazy
        ones realized first); ``u_shape`` is set to ``out_shape``."""
        pid = self._programs.get(kernel, defines, code)
        inputs = {k: self.realize(b) for k, b in inputs.items()}
        for b in inputs.values():
            bridge.check(b)
        uniforms["u_shape"] = pad(out_shape)
        bridge.draw(pid, out, inputs, uniforms, extra)
        return out

    def new(self, shape, kernel, defines, inputs, uniforms, packed=None):
        """Draw a kernel into a new buffer: a tensor of ``shape``, or with ``packed=(w, h)``
        an RGBA texture of that size for a packed kernel's intermediate."""
        out = GLBuffer(numel(shape), packed)
        if out.numel:
            self.draw(kernel, defines, inputs, out, shape, uniforms)
        return out
