"""Reductions (sum, amax, amin, argmax, argmin): shaders/reduce.glsl, reading views in
place, with long sums, maxima and minima split into chunks; softmax and its backward over
the last dim, scale and masks fused in: shaders/softmax.glsl, two passes each; layer_norm
and its input gradient: one pass of row statistics (shaders/layernorm.glsl) and an
elementwise chain each."""
from ...dtypes import float32, int64
from ...ops.elementwise import BINARY, UNARY
from .elementwise import lazy
from .ir import Const, LazyBuf, Leaf
from .movement import cat_tree, gather, permuted, strided, view
from .registry import register
from .shapes import bcast_strides, numel, pad, strides

# Positions per chunk of a long sum, max or min: one fragment walks a chunk, and a second
# pass combines the chunks, so few outputs over many positions still run as many parallel
# fragments (commit a0eff7e). A long argmax/argmin takes each chunk's best value (MAX/MIN)
# and position (ARGMAX/ARGMIN, a position in the whole reduction), the best chunk (an
# argmax of the chunks' values: the first one wins ties and NaNs, as the first position
# does) and gathers its position: positions are ints, exact past 2**24. A backend's
# ``sum_chunk`` sets a sum's chunk (WebGPU's cooperative sum takes longer ones).
REDUCE_CHUNK = 256
ARG_BEST = {"ARGMAX": "MAX", "ARGMIN": "MIN"}




def reduce(be, which, bufs, in_shape, shape, axes, dtype):
    """Reduce ``axes`` of ``bufs[0]`` (of ``in_shape``) to ``shape`` (a result of ``dtype``:
    int64 into an int texture, accumulated as int) with reduce.glsl's OP ``which`` (SUM,
    MAX, MIN, ARGMAX or ARGMIN)."""
    if not axes:
        return bufs[0]
    if numel([in_shape[d] for d in axes]) == 0:
        return be.full(shape, 0, dtype)
    src = bufs[0]
    fused = None        # (defines, inputs, uniforms, code) of a chain computed where read
    if be.fuses_reads and type(src) is LazyBuf and src.real is None and \
            type(src.node) not in (Leaf, Const) and src.node is not None:
        # the chain at row-major position i, the same in the chain's own shape as in
        # in_shape (a reshape of a lazy buffer is the buffer); None where the backend can't
        fused = be.fused_read(src)
    if fused is not None:
        x, st, off = None, strides(in_shape), 0
    else:
        x, st, off = view(be, src, in_shape)
    # the reduced axes as strided groups: neighbours merge when their strides chain
    groups = []
    for d in sorted(axes):
        if groups and groups[-1][2] == d - 1 and groups[-1][1] == st[d] * in_shape[d]:
            groups[-1] = [groups[-1][0] * in_shape[d], st[d], d]
        else:
            groups.append([in_shape[d], st[d], d])
    if len(groups) > 2:    # the shader takes two: copy with the reduced axes last, then one
        fused = None
        keep = [d for d in range(len(in_shape)) if d not in axes]
        x = be.realize(permuted(be, bufs[0], in_shape, keep + sorted(axes)))
        st, off = strides([in_shape[d] for d in keep + sorted(axes)])[:len(keep)], 0
        groups = [[numel([in_shape[d] for d in axes]), 1, 0]]
        kept = [in_shape[d] for d in keep]
    else:
        kept = [in_shape[d] for d in range(len(in_shape)) if d not in axes]
        st = [st[d] for d in range(len(in_shape)) if d not in axes]
    r1, r2 = ([1, 0], groups[0][:2]) if len(groups) == 1 else (groups[0][:2], groups[1][:2])
    total = r1[0] * r2[0]
    if which in ARG_BEST and total > 1 << 24 and not be.int_textures:
        raise ValueError(f"{be.name}: {which.lower()} over {total} positions: positions past "
                         "2**24 are not exact in this backend's float32 int64 storage")
    split = -(-total // (be.sum_chunk if which == "SUM" else REDUCE_CHUNK))
    n = numel(shape)
    out_shape = (n, split) if split > 1 else shape

    def draw(op, is_int):
        uniforms = {"u_keep": pad(kept), "u_keep_st": pad(st, 0), "u_off": off, "u_r1": r1,
                    "u_r2": r2, "u_split": split}
        if fused is None:
            return be.new(out_shape, "reduce", (("OP", op),), {"u_a": x}, uniforms,
                          is_int=is_int)
        defines, inputs, more, code = fused
        return be.new(out_shape, "reduce", (("OP", op),) + defines, inputs,
                      {**uniforms, **more}, is_int=is_int, code=code)
    out = draw(which, dtype is int64)
    if split > 1 and which in ARG_BEST:     # the position in the best chunk
        best = draw(ARG_BEST[which], src.is_int if fused else getattr(x, "is_int", False))
        chunk = reduce(be, which, [best], out_shape, (n, 1), (1,), int64)
        out = gather(be, [out, chunk], [out_shape, (n, 1)], (n, 1), int64, {"axis": 1})
    elif split > 1:         # combine the chunks' partial results
        out = reduce(be, which, [out], out_shape, shape, (1,), dtype)
    return out


@register("sum", shaders=("reduce", "elementwise"), lazy_inputs=True, ints=True)
def sum_(be, bufs, shapes, shape, dtype, attrs):
    return reduce(be, "SUM", bufs, shapes[0], shape, attrs["axes"], dtype)


@register("amax", shaders=("reduce", "elementwise"), lazy_inputs=True, ints=True)
def amax(be, bufs, shapes, shape, dtype, attrs):
    return reduce(be, "MAX", bufs, shapes[0], shape, attrs["axes"], dtype)


@register("amin", shaders=("reduce", "elementwise"), lazy_inputs=True, ints=True)
def amin(be, bufs, shapes, shape, dtype, attrs):
    return reduce(be, "MIN", bufs, shapes[0], shape, attrs["axes"], dtype)


@register("argmax", shaders=("reduce", "elementwise"), lazy_inputs=True, ints=True)
def argmax(be, bufs, shapes, shape, dtype, attrs):
    return reduce(be, "ARGMAX", bufs, shapes[0], shape, (attrs["axis"],), dtype)


@register("argmin", shaders=("reduce", "elementwise"), lazy_inputs=True, ints=True)
def argmin(be, bufs, shapes, shape, dtype, attrs):
    return reduce(be, "ARGMIN", bufs, shapes[0], shape, (attrs["axis"],), dtype)


# --- softmax and its backward: shaders/softmax.glsl, two passes each ------------------------
def _softmax_pass(be, which, shape, inputs, uniforms, mask=0, causal=0, log=0, safe=0):
    """One pass of softmax.glsl (PASS ``which``) into a new buffer of ``shape``; every
    define given (WGSL, which has no #ifndef, reads the same ones)."""
    return be.new(shape, "softmax", (("PASS", which), ("MASK", mask), ("CAUSAL", causal),
                                     ("LOG", log), ("SAFE", safe)), inputs, uniforms)


@register("softmax", shaders=("softmax",))
def softmax(be, bufs, shapes, shape, dtype, attrs):
    if not numel(shape):
        return be.empty()
    rows = numel(shape[:-1])
    mask = len(bufs) == 2
    kind = 0 if not mask else (1 if attrs["mask_bool"] else 2)
    uniforms = {"u_xshape": pad(shape), "u_scale": attrs["scale"],
                "u_mst": list(bcast_strides(tuple(shapes[1]), tuple(shape))) if mask
                else [0] * 6}
    inputs = {"u_a": bufs[0], "u_b": bufs[1] if mask else bufs[0]}
    causal = int(attrs["causal"])
    lse = _softmax_pass(be, 0, (rows,), inputs, dict(uniforms), kind, causal)
    return _softmax_pass(be, 1, shape, {**inputs, "u_c": lse}, uniforms, kind, causal,
                         int(attrs["log"]), int(attrs["safe"]))


@register("softmax_backward", shaders=("softmax",))
def softmax_backward(be, bufs, shapes, shape, dtype, attrs):
    if not numel(shape):
        return be.empty()
    rows = numel(shape[:-1])
    inputs = {"u_a": bufs[0], "u_b": bufs[1]}
    uniforms = {"u_xshape": pad(shape), "u_scale": attrs["scale"], "u_mst": [0] * 6}
    log = int(attrs["log"])
    r = _softmax_pass(be, 2, (rows,), inputs, dict(uniforms), log=log)
    return _softmax_pass(be, 3, shape, {**inputs, "u_c": r}, uniforms, log=log)


# --- layer_norm and its input gradient: the row statistics in one pass, the rest a chain ----
# Rows of the row statistics at least this long are summed in chunks of STATS_CHUNK values
# where the backend says so (``stats_chunks``: WebGL on a hardware renderer; SwiftShader
# keeps a fragment per row, WebGPU its workgroup per row): layernorm.glsl's CHUNKS, then a sum
# over the chunks and the statistics as an elementwise chain (_chunked_stats).
STATS_CHUNKED_MIN, STATS_CHUNK = 2048, 256


def _stats_pass(be, which, rows, runs, eps, inputs, count, weight=0):
    """layernorm.glsl's PASS ``which`` over ``rows`` rows, each the runs ``runs`` = (run
    length, runs, between runs, between rows): ``count`` buffers of one value a row (with
    three in PASS 0, the variance third)."""
    d, n, runstride, rowstride = runs
    if be.stats_chunks and d * n >= STATS_CHUNKED_MIN and 2 + 2 * which <= be.targets:
        return _chunked_stats(be, which, rows, runs, eps, inputs, count, weight)
    outs = [be.buffer(rows) for _ in range(count)]
    be.draw("layernorm", (("PASS", which), ("WEIGHT", weight),
                          ("VAR", int(which == 0 and count == 3))),
            inputs, outs[0], (rows,), {"u_d": d, "u_runs": n, "u_runstride": runstride,
                                       "u_rowstride": rowstride, "u_eps": eps},
            extra=outs[1:])
    return outs


def _chunked_stats(be, which, rows, runs, eps, inputs, count, weight):
    """_stats_pass's outputs from layernorm.glsl's chunk sums (CHUNKS): each summed over its
    row's chunks, then layernorm.glsl's formulas as an elementwise chain (lazy: computed
    where the normalisation or the cat reads them) with K, the row's first value, read in
    place."""
    d, n, runstride, rowstride = runs
    chunks = -(-d * n // STATS_CHUNK)
    parts = [be.buffer(rows * chunks) for _ in range(2 + 2 * which)]
    be.draw("layernorm", (("PASS", which), ("WEIGHT", weight), ("CHUNKS", 1)), inputs, parts[0],
            (rows, chunks), {"u_d": d, "u_runs": n, "u_runstride": runstride,
                             "u_rowstride": rowstride, "u_chunk": STATS_CHUNK,
                             "u_chunks": chunks}, extra=parts[1:])
    shape = (rows,)
    sums = [reduce(be, "SUM", [p], (rows, chunks), shape, [1], float32) for p in parts]
    k = strided(be, inputs["u_x"], shape, [rowstride])

    def op(name, *xs):      # an elementwise op of (rows,) buffers or numbers, lazy
        bufs = [be.full(shape, float(x), float32) if isinstance(x, (int, float)) else x
                for x in xs]
        table = BINARY if len(bufs) == 2 else UNARY
        return lazy(be, table[name], bufs, [shape] * len(bufs), shape, float32, {})
    m = op("div", sums[0], float(d * n))                 # E[x - K]
    var = op("relu", op("sub", op("div", sums[1], float(d * n)), op("mul", m, m)))
    rstd = op("rsqrt", op("add", var, eps))
    outs = [op("add", k, m), rstd]
    if which == 0:
        return outs + [var][:count - 2]
    a = op("div", sums[2], float(d * n))                 # E[gw]
    c = op("mul", op("sub", op("div", sums[3], float(d * n)), op("mul", m, a)), rstd)
    return outs + [a, c]


def _row_stats(be, which, shape, attrs, inputs, count, weight=0):
    """The statistics of the rows of ``shape`` (the last ``k`` dims normalized, one run a
    row): ``count`` buffers of one value a row (``_stats_pass``), and their shape as
    broadcast into ``shape`` (the normalized dims kept as 1s)."""
    k = attrs["k"]
    d = numel(shape[len(shape) - k:])
    outs = _stats_pass(be, which, numel(shape) // d, (d, 1, 0, d), attrs["eps"], inputs,
                       count, weight)
    return outs, tuple(shape[:len(shape) - k]) + (1,) * k


def _chain(be, shape, terms):
    """An elementwise chain: ``terms`` = [first buffer, (op name, buffer, its shape), ...],
    applied left to right over ``shape``."""
    acc = terms[0]
    for name, b, s in terms[1:]:
        acc = lazy(be, BINARY[name], [acc, b], [shape, s], shape, float32, {})
    return acc


@register("layer_norm", shaders=("layernorm",))
def layer_norm(be, bufs, shapes, shape, dtype, attrs):
    if not numel(shape):
        return be.empty()
    x = bufs[0]
    (mean, rstd), rs = _row_stats(be, 0, shape, attrs, {"u_x": x}, 2)
    terms = [x, ("sub", mean, rs), ("mul", rstd, rs)]
    if attrs["weight"]:
        terms.append(("mul", bufs[1], shapes[1]))
    if attrs["bias"]:
        terms.append(("add", bufs[-1], shapes[-1]))
    return _chain(be, shape, terms)


@register("layer_norm_backward", shaders=("layernorm",))
def layer_norm_backward(be, bufs, shapes, shape, dtype, attrs):
    if not numel(shape):
        return be.empty()
    g, x = bufs[0], bufs[1]
    inputs = {"u_x": x, "u_g": g}
    if attrs["weight"]:
        inputs["u_w"] = bufs[2]
    (mean, rstd, a, c), rs = _row_stats(be, 1, shape, attrs, inputs, 4, int(attrs["weight"]))
    # rstd * (g w - a - (x - mean) rstd c)
    gw = _chain(be, shape, [g] + ([("mul", bufs[2], shapes[2])] if attrs["weight"] else []))
    xc = _chain(be, shape, [x, ("sub", mean, rs), ("mul", rstd, rs), ("mul", c, rs)])
    return _chain(be, shape, [gw, ("sub", a, rs), ("sub", xc, shape), ("mul", rstd, rs)])


@register("norm_stats", shaders=("layernorm",))
def norm_stats(be, bufs, shapes, shape, dtype, attrs):
    """Batch norm's statistics (ops.NormStats): layernorm.glsl over the channels as rows (a
    run of H*W per sample, C*H*W apart), its three or four outputs stacked into ``shape``."""
    if not numel(shape):
        return be.empty()
    xs = tuple(shapes[-1])
    k, c = shape
    grad = attrs["grad"]
    inputs = {"u_x": bufs[-1]}
    if grad:
        inputs["u_g"] = bufs[0]
    hw = numel(xs[2:])
    outs = _stats_pass(be, int(grad), c, (hw, xs[0], c * hw, hw), attrs["eps"], inputs, k)
    return cat_tree(be, outs, [(1, c)] * k, shape, dtype, {"axis": 0})
