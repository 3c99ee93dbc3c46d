"""The WebGL2 backend: tensors live on the GPU as R32F textures, every primitive runs as a
GLSL ES 3.0 fragment shader from ``shaders/<kernel>.glsl``.

It runs inside Pyodide, in the Web Worker that owns the WebGL2 context; the worker
registers the JS bridge (web/js/gl.js) as the module ``webdl_gl``. Python computes each
kernel's uniforms (shapes, strides, parameters) and the bridge makes the GL calls. Shapes
are uniforms, so each kernel compiles once, whatever the shapes. Data crosses to Python only
in ``to_numpy`` (``.numpy()``, ``.item()``, printing).

Layout: element i of a tensor (row-major) is texel (i % width, i / width); the width
depends on the element count only, so reshape is free. int64 and bool are stored as
floats (exact up to 2**24).
"""
import functools
import json
import math

import numpy as np

from . import Backend

try:
    import webdl_gl as _gl  # the JS bridge, registered by the worker
except ImportError as e:  # pragma: no cover - CPython
    raise ImportError("the JS module 'webdl_gl' is missing (webdl's WebGL backend runs only "
                      "inside the webdl browser runtime)") from e

MAX_RANK = 6
_CAST_CODE = {"float32": 0.0, "int64": 1.0, "bool": 2.0}


def _shader(name):
    from importlib import resources
    return resources.files("webdl").joinpath("_shaders", name + ".glsl").read_text()


def _pad(shape, fill=1):
    shape = list(shape)
    if len(shape) > MAX_RANK:
        raise NotImplementedError(f"webgl: tensors of more than {MAX_RANK} dims are not "
                                  f"supported yet (shape {tuple(shape)})")
    return [fill] * (MAX_RANK - len(shape)) + shape


def _strides(shape):
    st, acc = [], 1
    for d in reversed(shape):
        st.append(acc)
        acc *= d
    return st[::-1]


@functools.lru_cache(maxsize=1024)
def _bcast_strides(shape, out_shape):
    """Strides of ``shape`` (aligned right to ``out_shape``), 0 where it is broadcast: a
    tuple of 6 (cached: the same few shapes recur on every op)."""
    shape = [1] * (len(out_shape) - len(shape)) + list(shape)
    st = _strides(shape)
    return tuple(_pad([0 if s == 1 else t for s, t in zip(shape, st)], 0))


def _numel(shape):
    return math.prod(shape)


def _js_error(e):
    """A JS exception from the bridge as a Python RuntimeError with the bridge's message."""
    msg = str(e)
    if "Error: " in msg:
        msg = msg.split("Error: ", 1)[1]
    return RuntimeError(msg.strip().splitlines()[0] if msg.strip() else "webgl: GPU call failed")


def _num(v):
    v = float(v)
    if math.isfinite(v):
        return v
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")


class GLBuffer:
    """A texture on the GPU, freed (back to the pool) when the last tensor using it is gone."""
    __slots__ = ("id", "numel", "gen", "host", "__weakref__")

    def __init__(self, numel, packed=None):
        self.id = None
        self.host = None   # a host copy of small uploaded int/bool data (buffers never change)
        try:
            self.id = _gl.alloc(numel) if packed is None else _gl.allocTexture(*packed, 4)
        except Exception as e:  # a JsException: too large, out of memory, context lost
            raise _js_error(e) from None
        self.numel = numel
        self.gen = _gl.generation

    def free(self):
        if self.id is not None:
            if self.gen == _gl.generation:
                _gl.free(self.id)
            self.id = None

    def __del__(self):
        try:
            self.free()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _broadcast(node, shape, out_shape):
    """A lazy expression over ``shape`` read at the coordinates of ``out_shape``."""
    kind = node[0]
    if kind == "leaf":
        keep = [a == b for a, b in zip(_pad(shape), _pad(out_shape))]
        return ("leaf", node[1], tuple(t if k else 0 for t, k in zip(node[2], keep)), node[3])
    if kind == "const":
        return node
    if kind == "op":
        return ("op", node[1], [_broadcast(k, shape, out_shape) for k in node[2]], node[3])
    if kind == "where":
        return ("where", [_broadcast(k, shape, out_shape) for k in node[1]])
    return ("round", _broadcast(node[1], shape, out_shape))


class LazyBuf:
    """An elementwise result not computed yet: an expression over realized buffers. Chains
    of elementwise ops grow one expression, compiled into one shader when something else
    needs the values (another kernel, a readback, a stored optimizer state)."""
    __slots__ = ("shape", "numel", "node", "leaves", "size", "real", "__weakref__")
    MAX_LEAVES = 8
    MAX_SIZE = 40

    def __init__(self, shape, node, leaves, size):
        self.shape, self.numel = tuple(shape), _numel(shape)
        self.node, self.leaves, self.size, self.real = node, leaves, size, None

    def free(self):
        if self.real is not None:
            self.real.free()
        self.node, self.leaves = None, ()


class WebGLBackend(Backend):
    name = "webgl"

    def __init__(self):
        info = json.loads(_gl.probe())
        if not info.get("ok"):
            raise RuntimeError("webgl: " + info.get("error", "the GPU is not usable"))
        self.info = info
        width = self._row = info["maxWidth"]       # a tensor's texture is this wide or one row
        if width & (width - 1):
            raise RuntimeError(f"webgl: texture row width {width} is not a power of two")
        self._layout = (("LOG2W", width.bit_length() - 1),)     # see shaders/common.glsl
        self._targets = min(8, info["maxDrawBuffers"])          # render targets per draw
        self.fused = frozenset({"conv2d"})
        self._programs = {}
        self._gen = _gl.generation

    # --- data across ---------------------------------------------------------------------------
    def from_numpy(self, array, dtype):
        a = np.ascontiguousarray(array, dtype=np.float32).reshape(-1)
        buf = GLBuffer(a.size)
        if not dtype.is_floating_point and a.size <= 1 << 16:
            # indices and masks made on the host: reading them back (target checks, index
            # bounds) needs no GPU round trip
            buf.host = np.array(array, dtype=dtype.np).reshape(-1)
        if a.size:
            try:
                _gl.upload(buf.id, a)
            except Exception as e:  # noqa: BLE001 - JsException
                raise _js_error(e) from None
        return buf

    def to_numpy(self, buf, shape, dtype):
        n = _numel(shape)
        if n == 0:
            return np.zeros(shape, dtype=dtype.np)
        buf = self.realize(buf)
        self._check(buf)
        if buf.host is not None:
            return buf.host.reshape(shape).astype(dtype.np, copy=True)
        width = min(n, self._row)
        data = np.empty(-(-n // width) * width, dtype=np.float32)   # whole texture rows
        try:
            if not _gl.downloadInto(buf.id, n, data):   # straight into numpy's memory
                _gl.download(buf.id, n).assign_to(data[:n])
        except Exception as e:  # noqa: BLE001 - JsException
            raise _js_error(e) from None
        data = data[:n].reshape(shape)
        if dtype.name == "bool":
            return data != 0
        if dtype.name == "int64":
            return np.rint(data).astype(np.int64)
        return data

    def full(self, shape, value, dtype):
        """A lazy constant: inlined as a uniform into the elementwise chains that use it,
        drawn only when another kernel needs it as a texture."""
        n = _numel(shape)
        if not n:
            return GLBuffer(0)
        most = self._row * self.info["maxTextureSize"]
        if n > most:     # refused now, as a texture would be (gl.js alloc says the same)
            raise RuntimeError(f"webgl: a tensor of {n} elements exceeds the largest texture "
                               f"({most} elements)")
        return LazyBuf(shape, ("const", value), [], 1)

    def free(self, buf):
        buf.free()

    def memory_stats(self):
        return json.loads(_gl.memoryStats())

    # --- running kernels ------------------------------------------------------------------------
    def _check(self, buf):
        if buf.id is None:
            raise RuntimeError("webgl: this tensor's GPU memory was already freed")
        if buf.gen != _gl.generation:
            raise RuntimeError("webgl: this tensor lived on a GPU context that was lost; its "
                               "values are gone (create it again)")

    def _program(self, kernel, defines):
        """A compiled kernel: ``kernel`` names shaders/<kernel>.glsl, or is (name, code) for
        generated code appended to that file (a fused elementwise chain's main after
        elementwise.glsl's op_ functions)."""
        extra = ""
        if isinstance(kernel, tuple):    # (shader file, generated code appended to it)
            kernel, extra = kernel
        key = kernel + "|" + ",".join(f"{k}={v}" for k, v in defines) + "|" + extra
        if self._gen != _gl.generation:   # a new context after a loss: programs are gone
            self._programs.clear()
            self._gen = _gl.generation
        pid = self._programs.get(key)
        if pid is None:
            common = _shader("common")
            version, rest = common.split("\n", 1)
            head = "".join(f"#define {k} {v}\n" for k, v in defines + self._layout)
            src = f"{version}\n{head}{rest}\n{_shader(kernel)}\n{extra}"
            try:
                pid = _gl.compile(key, src)
            except Exception as e:  # noqa: BLE001 - JsException
                raise _js_error(e) from None
            self._programs[key] = pid
        return pid

    def _draw(self, kernel, defines, inputs, out, out_shape, uniforms, extra=()):
        pid = self._program(kernel, defines)
        inputs = {k: self.realize(b) for k, b in inputs.items()}
        for b in inputs.values():
            self._check(b)
        uniforms["u_shape"] = _pad(out_shape)
        spec = json.dumps([pid, out.id, {k: b.id for k, b in inputs.items()}, uniforms,
                           [b.id for b in extra]])
        try:
            _gl.run(spec)
        except Exception as e:  # noqa: BLE001 - JsException
            raise _js_error(e) from None
        return out

    def _new(self, shape, kernel, defines, inputs, uniforms, packed=None):
        """Run a kernel into a new buffer: a tensor of ``shape``, or with ``packed=(w, h)`` an
        RGBA texture of that size for a packed kernel's intermediate."""
        out = GLBuffer(_numel(shape), packed)
        if out.numel:
            self._draw(kernel, defines, inputs, out, shape, uniforms)
        return out

    # ops whose kernels read a lazy view (permute, slice, expand, flip) in place
    _READS_VIEWS = frozenset({"sum", "amax", "amin", "argmax", "argmin", "matmul", "conv2d"})

    def run(self, op, bufs, shapes, out_shape, out_dtype, attrs):
        if op.name != "reshape":
            if op.elementwise:
                if not _numel(out_shape):
                    return GLBuffer(0)
                return self._lazy(op, bufs, shapes, out_shape, out_dtype, attrs)
            if op.name not in self._READS_VIEWS:
                bufs = [self.realize(b) for b in bufs]
        handler = getattr(self, "_op_" + op.name, None)
        if handler is None:
            raise NotImplementedError(f"webgl: op '{op.name}' has no GPU kernel yet")
        return handler(bufs, shapes, out_shape, out_dtype, attrs)

    # --- lazy fusion of elementwise chains ----------------------------------------------
    def _lazy(self, op, bufs, shapes, shape, dtype, attrs):
        shape = tuple(shape)
        kids, leaves, size = [], [], 1       # leaves: the distinct buffers read
        for b, s in zip(bufs, shapes):
            if isinstance(b, LazyBuf) and b.real is None and b.node is not None and \
                    tuple(s) == b.shape:
                # inlined; an expression broadcast into this op reads its leaves with the
                # broadcast dims' strides set to 0 (it is recomputed per element: cheaper
                # than a draw)
                kids.append(b.node if b.shape == shape else _broadcast(b.node, b.shape, shape))
                leaves += [x for x in b.leaves if not any(x is y for y in leaves)]
                size += b.size
            else:
                b = self.realize(b)
                kids.append(("leaf", b, _bcast_strides(tuple(s), shape), 0))
                if not any(b is y for y in leaves):
                    leaves.append(b)
                size += 1
        if op.name == "cast":
            node = ("op", "op_cast", kids, [_CAST_CODE[attrs["dtype"].name], 0.0])
        elif op.name == "where":
            node = ("where", kids)
        elif hasattr(op, "params"):
            p = [attrs.get(n) for n in op.params] + [None, None]
            if op.name == "clamp":
                p = [-math.inf if p[0] is None else p[0], math.inf if p[1] is None else p[1]]
            node = ("op", "op_" + op.name, kids, [0.0 if v is None else float(v) for v in p[:2]])
        else:
            node = ("op", "op_" + op.name, kids, None)
        if dtype.name == "int64" and op.name in ("pow", "pow_scalar"):
            node = ("round", node)     # GPU pow is exp2(log2): round integer powers
        out = LazyBuf(shape, node, leaves, size)
        if len(leaves) > LazyBuf.MAX_LEAVES or size > LazyBuf.MAX_SIZE:
            self.realize(out)
        return out

    @staticmethod
    def _codegen(nodes):
        """GLSL for lazy expressions: ([expression per node], {key: (k, buffer, strides,
        offset)} for the inputs read as v<k>, uniform values u_p)."""
        slots, params = {}, []

        def emit(node):
            kind = node[0]
            if kind == "leaf":              # ("leaf", buffer, strides (6), offset)
                _, b, st, off = node
                key = (id(b), st, off)
                if key not in slots:
                    slots[key] = (len(slots), b, st, off)
                return f"v{slots[key][0]}"
            if kind == "const":
                params.extend((_num(node[1]), 0.0))
                return f"u_p[{len(params) - 2}]"
            if kind == "where":
                c, a, b = (emit(k) for k in node[1])
                return f"({c} != 0.0 ? {a} : {b})"
            if kind == "round":
                return f"round({emit(node[1])})"
            _, fn, kids, p = node
            args = [emit(k) for k in kids]
            if p is not None:
                args += [f"u_p[{len(params)}]", f"u_p[{len(params) + 1}]"]
                params.extend(_num(v) for v in p)
            return f"{fn}({', '.join(args)})"
        return [emit(n) for n in nodes], slots, params

    def realize_many(self, bufs):
        """Lazy expressions of one shape computed together: one draw, a render target each
        (up to 8), their shared inputs read once."""
        groups = {}
        for b in bufs:
            if isinstance(b, LazyBuf) and b.real is None and b.node is not None:
                groups.setdefault(b.shape, []).append(b)
        for group in groups.values():
            for i in range(0, len(group), self._targets):
                self.realize(*group[i:i + self._targets])
        return [self.realize(b) for b in bufs]

    def realize(self, buf, *more):
        """The texture behind a buffer, computing a lazy expression in one kernel (with
        ``more`` lazy buffers of the same shape: computed in the same kernel)."""
        if not isinstance(buf, LazyBuf):
            return buf
        if buf.real is not None:
            return buf.real
        if buf.node is None:
            raise RuntimeError("webgl: this tensor's GPU memory was already freed")
        outs = (buf,) + more
        exprs, slots, params = self._codegen([b.node for b in outs])
        # Each input is read the cheapest way it allows (integer division is what costs on
        # SwiftShader): at the output's own texel when it is dense in the output's shape
        # (its texture then has the same layout); otherwise at the coordinates of the output
        # index over the merged dims (neighbouring dims merge when every strided input's
        # strides chain), unravelled with one division pair per merged dim.
        dense = tuple(_pad(_strides(buf.shape), 0))
        strided = [(k, b, st, off) for k, b, st, off in slots.values()
                   if st != dense or off]
        dims = []                                   # [size, [stride per strided input]]
        for d, size in enumerate(_pad(buf.shape)):
            if size == 1:
                continue
            sts = [st[d] for _, _, st, _ in strided]
            if dims and all(p == t * size for p, t in zip(dims[-1][1], sts)):
                dims[-1] = [dims[-1][0] * size, sts]
            else:
                dims.append([size, sts])
        rank = len(dims)
        inputs, uniforms, decl, fetches = {}, {}, [], []
        if strided and rank:
            uniforms["u_dims"] = _pad([d[0] for d in dims])
            decl.append("uniform int u_dims[6];\n")
            fetches.append("    int i = out_index();\n")
            for d in range(5, 6 - rank, -1):
                fetches.append(f"    int c{d} = i % u_dims[{d}];\n    i /= u_dims[{d}];\n")
            fetches.append(f"    int c{6 - rank} = i;\n")
        for k, b, st, off in slots.values():
            inputs[f"u_in{k}"] = b
            decl.append(f"uniform sampler2D u_in{k};\n")
            if st == dense and not off:
                fetches.append(f"    float v{k} = texelFetch(u_in{k}, p, 0).r;\n")
                continue
            j = [t[0] for t in strided].index(k)
            uniforms[f"u_st{k}"] = _pad([dd[1][j] for dd in dims], 0)
            uniforms[f"u_off{k}"] = off
            decl.append(f"uniform int u_st{k}[6];\nuniform int u_off{k};\n")
            at = " + ".join([f"u_off{k}"] + [f"c{d} * u_st{k}[{d}]" for d in range(6 - rank, 6)])
            fetches.append(f"    float v{k} = fetch(u_in{k}, {at});\n")
        decl += [f"layout(location = {j}) out vec4 o_color{j};\n" for j in range(1, len(outs))]
        main = ("".join(decl) + f"uniform float u_p[{max(len(params), 1)}];\n"
                "void main() {\n    ivec2 p = ivec2(gl_FragCoord.xy);\n" + "".join(fetches)
                + f"    emit({exprs[0]});\n"
                + "".join(f"    o_color{j} = vec4({e}, 0.0, 0.0, 1.0);\n"
                          for j, e in enumerate(exprs[1:], 1)) + "}\n")
        if params:
            uniforms["u_p"] = params
        reals = [GLBuffer(buf.numel) for _ in outs]
        self._draw(("elementwise", main), (), inputs, reals[0], buf.shape, uniforms,
                   extra=reals[1:])
        for b, r in zip(outs, reals):
            b.real, b.node, b.leaves = r, None, ()
        return reals[0]

    # --- reductions ---------------------------------------------------------------------------
    def _view(self, buf, shape):
        """(texture, strides, offset) of a buffer: a lazy view reads its source in place."""
        if isinstance(buf, LazyBuf) and buf.real is None and buf.node is not None and \
                buf.node[0] == "leaf" and buf.shape == tuple(shape):
            _, x, st, off = buf.node
            return x, list(st[MAX_RANK - len(shape):]), off
        return self.realize(buf), _strides(shape), 0

    def _reduce(self, which, bufs, in_shape, shape, axes):
        if not axes:
            return bufs[0]
        if _numel([in_shape[d] for d in axes]) == 0:
            return self.full(shape, 0.0, None)
        x, st, off = self._view(bufs[0], in_shape)
        # the reduced axes as strided groups: neighbours merge when their strides chain
        groups = []
        for d in sorted(axes):
            if groups and groups[-1][2] == d - 1 and groups[-1][1] == st[d] * in_shape[d]:
                groups[-1] = [groups[-1][0] * in_shape[d], st[d], d]
            else:
                groups.append([in_shape[d], st[d], d])
        if len(groups) > 2:    # copy with the reduced axes last, then one contiguous group
            keep = [d for d in range(len(in_shape)) if d not in axes]
            x = self.realize(self._permute(bufs[0], in_shape, keep + sorted(axes)))
            st, off = _strides([in_shape[d] for d in keep + sorted(axes)])[:len(keep)], 0
            groups = [[_numel([in_shape[d] for d in axes]), 1, 0]]
            kept = [in_shape[d] for d in keep]
        else:
            kept = [in_shape[d] for d in range(len(in_shape)) if d not in axes]
            st = [st[d] for d in range(len(in_shape)) if d not in axes]
        r1, r2 = ([1, 0], groups[0][:2]) if len(groups) == 1 else (groups[0][:2], groups[1][:2])
        total = r1[0] * r2[0]
        split = -(-total // 256) if which in ("SUM", "MAX", "MIN") else 1
        out_shape = (_numel(shape), split) if split > 1 else shape
        out = self._new(out_shape, "reduce", (("OP", which),), {"u_a": x},
                        {"u_keep": _pad(kept), "u_keep_st": _pad(st, 0), "u_off": off,
                         "u_r1": r1, "u_r2": r2, "u_split": split})
        if split > 1:           # combine the chunks' partial results
            out = self._reduce(which, [out], out_shape, shape, (1,))
        return out

    def _op_sum(self, bufs, shapes, shape, dtype, attrs):
        return self._reduce("SUM", bufs, shapes[0], shape, attrs["axes"])

    def _op_amax(self, bufs, shapes, shape, dtype, attrs):
        return self._reduce("MAX", bufs, shapes[0], shape, attrs["axes"])

    def _op_amin(self, bufs, shapes, shape, dtype, attrs):
        return self._reduce("MIN", bufs, shapes[0], shape, attrs["axes"])

    def _op_argmax(self, bufs, shapes, shape, dtype, attrs):
        return self._reduce("ARGMAX", bufs, shapes[0], shape, (attrs["axis"],))

    def _op_argmin(self, bufs, shapes, shape, dtype, attrs):
        return self._reduce("ARGMIN", bufs, shapes[0], shape, (attrs["axis"],))

    # --- movement -----------------------------------------------------------------------------
    def _strided(self, x, out_shape, strides, offset=0):
        """A view (permute, expand, slice, flip): a lazy leaf reading ``x`` at offset +
        dot(coords, strides); it is computed within the elementwise chain that uses it, or
        as a copy when another kernel needs it."""
        if not _numel(out_shape):
            return GLBuffer(0)
        x = self.realize(x)
        return LazyBuf(out_shape, ("leaf", x, tuple(_pad(strides, 0)), offset), [x], 1)

    def _permute(self, x, in_shape, dims):
        st = _strides(in_shape)
        return self._strided(x, [in_shape[d] for d in dims], [st[d] for d in dims])

    def _op_reshape(self, bufs, shapes, shape, dtype, attrs):
        return bufs[0]

    def _op_permute(self, bufs, shapes, shape, dtype, attrs):
        return self._permute(bufs[0], shapes[0], attrs["dims"])

    def _op_expand(self, bufs, shapes, shape, dtype, attrs):
        st = _bcast_strides(tuple(shapes[0]), tuple(shape))
        return self._strided(bufs[0], shape, st[-len(shape):] if shape else [])

    def _op_slice(self, bufs, shapes, shape, dtype, attrs):
        st = _strides(shapes[0])
        off = sum(s * t for s, t in zip(attrs["starts"], st))
        return self._strided(bufs[0], shape, [s * t for s, t in zip(attrs["steps"], st)], off)

    def _op_flip(self, bufs, shapes, shape, dtype, attrs):
        st = _strides(shape)
        off = sum((shape[d] - 1) * st[d] for d in attrs["dims"])
        return self._strided(bufs[0], shape, [-t if d in attrs["dims"] else t
                                              for d, t in enumerate(st)], off)

    def _op_unslice(self, bufs, shapes, shape, dtype, attrs):
        return self._new(shape, "unslice", (), {"u_a": bufs[0]},
                         {"u_a_shape": _pad(shapes[0]), "u_start": _pad(attrs["starts"], 0),
                          "u_step": _pad(attrs["steps"]), "u_value": _num(attrs["value"])})

    def _op_cat(self, bufs, shapes, shape, dtype, attrs):
        """Up to 8 inputs per pass (shaders/cat.glsl); longer lists in several passes."""
        axis = attrs["axis"]
        pairs = list(zip(bufs, [list(s) for s in shapes]))
        while len(pairs) > 1:
            group, pairs = pairs[:8], pairs[8:]
            out_shape = list(group[0][1])
            out_shape[axis] = sum(s[axis] for _, s in group)
            ends, acc = [], 0
            for _, s in group:
                acc += s[axis]
                ends.append(acc)
            ends += [1 << 30] * (8 - len(ends))
            inputs = {f"u_in{i}": b for i, (b, _) in enumerate(group)}
            buf = self._new(out_shape, "cat", (("N", len(group)),), inputs,
                            {"u_axis": axis + MAX_RANK - len(shape), "u_ends": ends,
                             "u_inner": _numel(out_shape[axis + 1:])})
            pairs.insert(0, (buf, out_shape))
        return pairs[0][0]

    def _op_gather(self, bufs, shapes, shape, dtype, attrs):
        x_shape = shapes[0]
        return self._new(shape, "gather", (), {"u_a": bufs[0], "u_b": bufs[1]},
                         {"u_a_st": _pad(_strides(x_shape), 0),
                          "u_axis": attrs["axis"] + MAX_RANK - len(shape)})

    def _op_scatter_add(self, bufs, shapes, shape, dtype, attrs):
        idx_shape = shapes[1]
        return self._new(shape, "scatter_add", (), {"u_a": bufs[0], "u_b": bufs[1]},
                         {"u_idx_shape": _pad(idx_shape), "u_idx_st": _pad(_strides(idx_shape), 0),
                          "u_axis": attrs["axis"] + MAX_RANK - len(shape)})

    # --- linear algebra ---------------------------------------------------------------------
    def _op_matmul(self, bufs, shapes, shape, dtype, attrs):
        sa, sb = shapes
        k = sa[-1]
        if _numel(shape) == 0:
            return GLBuffer(0)
        if k == 0:
            return self.full(shape, 0.0, None)
        n, m = sa[-2], sb[-1]
        nb = _numel(shape[:-2])
        na, nbb = _numel(sa[:-2]), _numel(sb[:-2])
        batch = list(shape[:-2])
        # operands read in place when they are views (a transposed weight): the packing
        # passes and the naive kernel both take strides
        (ta, sta, oa), (tb, stb, ob) = self._view(bufs[0], sa), self._view(bufs[1], sb)
        if nb * n * k * m > 1 << 17:   # small products: one naive draw beats four passes
            fa, fb = self._flat_batch(sa, sta), self._flat_batch(sb, stb)
            if na in (1, nb) and nbb in (1, nb) and fa is not None and fb is not None:
                out = self._matmul_packed((ta, fa, oa), (tb, fb, ob), shape, n, k, m, nb,
                                          na, nbb)
                if out is not None:
                    return out
            # too large for the packed textures: as a 1x1 convolution on the packed conv
            # path, whose images wrap into blocks (A (n, k) is the weight, B (.., k, m) the
            # image), or A's rows stacked when B is shared
            out = self._matmul_as_conv([self.realize(b) for b in bufs], sa, sb, shape)
            if out is not None:
                return out
        if len(batch) > 4:
            raise NotImplementedError(f"webgl: matmul with more than 4 batch dims "
                                      f"(shape {tuple(shape)})")

        def strides(s, st):      # 4 batch strides (0 where broadcast), row, column
            bs = [1] * (len(batch) - len(s[:-2])) + list(s[:-2])
            bst = [0] * (len(batch) - len(s[:-2])) + list(st[:-2])
            return [0] * (4 - len(bs)) + [0 if d == 1 else t for d, t in zip(bs, bst)] + \
                list(st[-2:])
        return self._new(shape, "matmul", (), {"u_a": ta, "u_b": tb},
                         {"u_a_st": strides(sa, sta), "u_b_st": strides(sb, stb),
                          "u_a_off": oa, "u_b_off": ob, "u_k": k})

    @staticmethod
    def _flat_batch(shape, st):
        """(batch stride, row stride, column stride) of a matrix view whose batch dims
        flatten into one stride; None when they don't."""
        bst = None
        for d in range(len(shape) - 2):
            if shape[d] == 1:
                continue
            if bst is not None and bst != st[d] * shape[d]:
                return None
            bst = st[d]
        return (bst or 0, st[-2], st[-1])

    def _matmul_as_conv(self, bufs, sa, sb, shape):
        n, k, m = sa[-2], sa[-1], sb[-1]
        nb = _numel(shape[:-2])
        geometry = {"u_kernel": [1, 1], "u_stride": [1, 1], "u_dil": [1, 1], "u_pad": [0, 0]}
        k4 = -(-k // 4)
        if _numel(sa[:-2]) != 1 and _numel(sb[:-2]) != 1:
            return None
        if _numel(sa[:-2]) == 1:
            xdims, ydims, batch = (k, 1, m, k4), (n, 1, m, -(-n // 4)), nb
            wbuf, xbuf = bufs[0], bufs[1] if _numel(sb[:-2]) == nb else None
        else:
            rows = _numel(sa[:-1])
            xdims, ydims, batch = (k, 1, m, k4), (rows, 1, m, -(-rows // 4)), 1
            wbuf, xbuf = bufs[0], bufs[1]
        if xbuf is None:
            return None
        return self._conv2d_packed([xbuf, wbuf], (batch, ydims[0], 1, m), geometry, xdims,
                                   ydims)

    def _matmul_packed(self, a, b, shape, n, k, m, nb, na, nbb):
        """Pack A and B four values to a texel, multiply 8x4 output blocks per fragment into
        eight targets, unpack (see shaders/matmul_packed.glsl); None when a texture would
        exceed the GPU's size limit. ``a``, ``b``: (texture, (batch, row, column strides),
        offset)."""
        limit = self.info["maxTextureSize"]
        if self._targets < 8:    # WebGL2 promises only 4
            return None
        n8, k4, m4 = -(-n // 8), -(-k // 8) * 2, -(-m // 4)
        if max(k4, m4) > limit or max(na * n8 * 8, nbb * k4 * 4, nb * n8) > limit:
            return None
        u = {"u_mm": [n, k, m, n8], "u_batched": [int(na > 1), int(nbb > 1)]}
        kern = "matmul_packed"

        def pack(op, rows, cols, padded, count, width):
            return self._new(shape, kern, (("PACK", 1),), {"u_a": op[0]},
                             {"u_pack": [rows, cols, padded], "u_st": list(op[1]),
                              "u_off": op[2]}, packed=(width, count * padded))
        a = pack(a, n, k, n8 * 8, na, k4)
        b = pack(b, k, m, k4 * 4, nbb, m4)
        targets = [GLBuffer(0, (m4, nb * n8)) for _ in range(8)]
        self._draw(kern, (("MM", 1),), {"u_a": a, "u_b": b}, targets[0], shape, u,
                   extra=targets[1:])
        return self._new(shape, kern, (("UNPACK", 1),),
                         {f"u_t{r}": t for r, t in enumerate(targets)}, u)

    def _op_conv2d(self, bufs, shapes, shape, dtype, attrs):
        if _numel(shape) == 0:
            return GLBuffer(0)
        n, c, h, w = shapes[0]
        o, cg, kh, kw = shapes[1]
        pads = attrs["pads"]
        geometry = {"u_kernel": [kh, kw], "u_stride": list(attrs["stride"]),
                    "u_dil": list(attrs["dilation"]), "u_pad": [pads[0], pads[2]]}
        c4, o4 = -(-c // 4), -(-o // 4)
        _, _, ho, wo = shape
        if attrs["groups"] == 1:
            out = self._conv2d_packed(bufs, shape, geometry, (c, h, w, c4), (o, ho, wo, o4))
            if out is not None:
                return out
        inputs = {"u_a": bufs[0], "u_b": bufs[1]}
        if len(bufs) == 3:
            inputs["u_c"] = bufs[2]
        return self._new(shape, "conv2d", (), inputs,
                         {"u_bias": int(len(bufs) == 3), "u_x": [c, h, w, cg],
                          "u_og": o // attrs["groups"], **geometry})

    @staticmethod
    def _blocks(width, rows, limit):
        """(texture width, height, rows per block) for a packed image of ``rows`` rows of
        ``width`` texels, wrapping rows into side-by-side blocks; None if it can't fit."""
        if rows <= limit:
            return width, rows, rows
        nblocks = -(-rows // limit)
        if width * nblocks > limit:
            return None
        per = -(-rows // nblocks)
        return width * nblocks, per, per

    def _conv2d_packed(self, bufs, shape, geometry, xdims, ydims):
        """groups == 1: pack x (zero-padded) and the weights 4 channels to a texel, convolve
        producing COLS output columns of 4 output channels per fragment, unpack (see
        shaders/conv2d_packed.glsl); None when a texture would exceed the GPU's limit."""
        n = shape[0]
        c, h, w, c4 = xdims
        o, ho, wo, o4 = ydims
        (kh, kw), (sh, sw), (dh, dw) = geometry["u_kernel"], geometry["u_stride"], \
            geometry["u_dil"]
        cols = 2 if wo <= 2 else (4 if wo <= 4 or self._targets < 8 else 8)
        wq = -(-wo // cols)
        # the padded image covers every tap of every column computed (the last fragment's
        # columns past Wo included)
        hp, wp = (ho - 1) * sh + (kh - 1) * dh + 1, (wq * cols - 1) * sw + (kw - 1) * dw + 1
        limit = self.info["maxTextureSize"]
        xblk = self._blocks(wp, n * c4 * hp, limit)
        yblk = self._blocks(wq, n * o4 * ho, limit)
        if not xblk or not yblk or max(kh * kw * c4, o4 * 4) > limit:
            return None
        u = {"u_x": list(xdims), "u_xp": [hp, wp, xblk[2], n], "u_y": list(ydims),
             "u_yq": [wq, yblk[2]], **geometry}
        k, cdef = "conv2d_packed", ("COLS", cols)
        x, xst, xoff = self._view(bufs[0], (n, c, h, w))   # views read in place
        wt, wst, woff = self._view(bufs[1], (o, c, kh, kw))
        xp = self._new(shape, k, (("PACK_X", 1),), {"u_a": x},
                       {**u, "u_st": xst, "u_off": xoff}, packed=xblk[:2])
        wk = self._new(shape, k, (("PACK_W", 1),), {"u_b": wt},
                       {**u, "u_st": wst, "u_off": woff}, packed=(c4 * kh * kw, o4 * 4))
        inputs = {"u_a": xp, "u_b": wk}
        if len(bufs) == 3:
            inputs["u_c"] = bufs[2]
        # small kernels compiled in, so their tap loops unroll; large ones (the weight
        # gradient's, which is the output gradient's size) loop over uniforms
        conv = (("CONV", 1), cdef) + ((("KH", kh), ("KW", kw)) if kh * kw <= 49 else ()) + \
            ((("ONE_BLOCK_X", 1),) if xblk[1] == xblk[2] and xblk[0] == wp else ())
        outs = [GLBuffer(0, yblk[:2]) for _ in range(cols)]
        self._draw(k, conv, inputs, outs[0], shape, {**u, "u_bias": int(len(bufs) == 3)},
                   extra=outs[1:])
        return self._new(shape, k, (("UNPACK", 1), cdef),
                         {f"u_t{j}": t for j, t in enumerate(outs)}, u)

    def _op_unfold(self, bufs, shapes, shape, dtype, attrs):
        n, c, h, w = shapes[0]
        kh, kw = attrs["kernel"]
        wo = (w - attrs["dilation"][1] * (kw - 1) - 1) // attrs["stride"][1] + 1
        return self._new(shape, "unfold", (), {"u_a": bufs[0]},
                         {"u_x": [c, h, w, wo], "u_kernel": list(attrs["kernel"]),
                          "u_dil": list(attrs["dilation"]), "u_stride": list(attrs["stride"])})

    def _op_fold(self, bufs, shapes, shape, dtype, attrs):
        (kh, kw), (dh, dw), (sh, sw) = attrs["kernel"], attrs["dilation"], attrs["stride"]
        h, w = attrs["size"]
        ho, wo = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
        return self._new(shape, "fold", (), {"u_a": bufs[0]},
                         {"u_out": [ho, wo], "u_kernel": [kh, kw], "u_dil": [dh, dw],
                          "u_stride": [sh, sw]})
