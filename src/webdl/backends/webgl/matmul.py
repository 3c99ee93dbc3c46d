"""matmul, three ways: one naive draw for small products (shaders/matmul.glsl), the packed
kernel (shaders/matmul_packed.glsl) for the rest -- in blocks whose packed textures fit
when one matrix product's would exceed the GPU's size limit (a 50257-row LM head) -- and,
for the batched products too large for one packed draw, a 1x1 convolution on the packed
conv path, whose images wrap into blocks. Operands that are views (a transposed weight)
are read in place."""
from ...dtypes import float32
from ...ops.linalg import read_shape
from ...ops.elementwise import BINARY
from .bridge import MAX_TARGETS, GLBuffer, targets
from .conv import conv2d_packed
from .elementwise import lazy
from .ir import packed_result
from .movement import cat, operands, strided
from .registry import register
from .shapes import numel
from ..tuning import bucket

# Products of at most this many multiply-adds (64x32x64) run in one naive draw: for them
# one draw beats the packed path's four passes (pack A, pack B, multiply, unpack) (commit
# a0eff7e, "tiny matmuls in one draw").
NAIVE_MAX_MACS = 1 << 17

# Products between these sizes (multiply-adds) are the shape classes whose kernel is
# chosen by measurement on a hardware renderer (backends/tuning.py): naive or packed. Below,
# one draw is surely cheaper; above, the naive kernel's K-long loop per output is surely
# slower (and would be slow to time).
TUNE_MACS = (1 << 12, 1 << 26)
VARIANTS = {"matmul": ("naive", "packed")}

# The naive kernel's strides: 4 batch dims, then row and column (matmul.glsl's int[6]).
NAIVE_MAX_BATCH_DIMS = 4


@register("matmul", shaders=("matmul", "matmul_packed", "conv2d_packed"), lazy_inputs=True)
def matmul(be, bufs, shapes, shape, dtype, attrs):
    k = read_shape(shapes[0], attrs.get("ta"), attrs.get("flat"))[-1]    # A as read
    if numel(shape) == 0:
        return GLBuffer(0)
    if k == 0:
        return be.full(shape, 0.0, None)
    # operands read in place when they are views (a transposed weight): the packing
    # passes and the naive kernel both take strides
    ((ta, sta, oa), (tb, stb, ob)), (sa, sb) = operands(be, bufs, shapes, attrs)
    n, m = sa[-2], sb[-1]
    nb = numel(shape[:-2])
    na, nbb = numel(sa[:-2]), numel(sb[:-2])
    macs = nb * n * k * m
    pn, pnb, pna = n, nb, na    # the packed path's view: B shared, A's matrices stacked
    fa, fb = _flat_batch(sa, sta), _flat_batch(sb, stb)
    if fa is not None and nbb == 1 and na > 1 and fa[0] == n * fa[1] and fa[3] == ONE_GROUP:
        pn, pnb, pna, fa = n * na, 1, 1, (0,) + fa[1:]
    packable = pna in (1, pnb) and nbb in (1, pnb) and fa is not None and fb is not None

    def packed():
        out = _packed(be, (ta, fa, oa), (tb, fb, ob), shape, pn, k, m, pnb, pna, nbb)
        if out is None and pnb == 1 and be.targets >= MAX_TARGETS:
            out = _blocked(be, (ta, fa, oa), (tb, fb, ob), pn, k, m)
        return out

    def naive():
        return _naive(be, (ta, sta, oa), (tb, stb, ob), sa, sb, shape, k)
    choice = "naive" if macs <= NAIVE_MAX_MACS else "packed"
    if packable and len(shape) - 2 <= NAIVE_MAX_BATCH_DIMS and \
            _fits(be, pn, k, m, pnb, pna, nbb):
        choice = be.kernels.choose(
            "matmul", f"{bucket(macs)}k{bucket(k)}{'b' if nb > 1 else ''}",
            ("naive", "packed"), choice,
            lambda v: packed() if v == "packed" else naive(), be.sync,
            TUNE_MACS[0] < macs <= TUNE_MACS[1] and not be.recording())
    if choice == "packed":
        out = packed() if packable else None
        if out is not None:
            return out
        # too large for the packed textures: as a 1x1 convolution on the packed conv
        # path, whose images wrap into blocks (A (n, k) is the weight, B (.., k, m) the
        # image), or A's rows stacked when B is shared; an operand given transposed (ta,
        # tb) copied in its read layout first (the convolution reads them dense)
        def dense(buf, tex, st, off, s, transposed):
            return be.realize(strided(be, tex, s, st, off) if transposed else buf)
        out = _as_conv(be, [dense(bufs[0], ta, sta, oa, sa, attrs.get("ta")),
                            dense(bufs[1], tb, stb, ob, sb, attrs.get("tb"))], sa, sb, shape)
        if out is not None:
            return out
    return naive()


def _naive(be, a, b, sa, sb, shape, k):
    """One draw of shaders/matmul.glsl: a fragment per output, looping over K; ``a``,
    ``b``: (texture, strides, offset) of the operands, views read in place."""
    batch = list(shape[:-2])
    if len(batch) > NAIVE_MAX_BATCH_DIMS:
        raise NotImplementedError(f"webgl: matmul with more than {NAIVE_MAX_BATCH_DIMS} "
                                  f"batch dims (shape {tuple(shape)})")

    def naive_strides(s, st):      # batch strides (0 where broadcast), row, column
        bs = [1] * (len(batch) - len(s[:-2])) + list(s[:-2])
        bst = [0] * (len(batch) - len(s[:-2])) + list(st[:-2])
        return [0] * (NAIVE_MAX_BATCH_DIMS - len(bs)) + \
            [0 if d == 1 else t for d, t in zip(bs, bst)] + list(st[-2:])
    (ta, sta, oa), (tb, stb, ob) = a, b
    return be.new(shape, "matmul", (), {"u_a": ta, "u_b": tb},
                  {"u_a_st": naive_strides(sa, sta), "u_b_st": naive_strides(sb, stb),
                   "u_a_off": oa, "u_b_off": ob, "u_k": k})


# the inner batch count of an operand whose batch dims flatten into one strided group
ONE_GROUP = 1 << 30


def _flat_batch(shape, st):
    """(batch stride, row stride, column stride, inner count, outer stride) of a matrix view
    whose batch dims flatten into at most two strided groups: batch b is read at (b % inner
    count) * batch stride + (b // inner count) * outer stride (one group: the count
    ONE_GROUP, the outer stride 0) -- q of a packed q/k/v projection, (N, H, L, hd) with
    strides (3E, hd, 3NE, 1), is two; None for more."""
    groups = []     # [count, stride], from the innermost batch dim out
    for d in range(len(shape) - 3, -1, -1):
        if shape[d] == 1:
            continue
        if groups and st[d] == groups[-1][0] * groups[-1][1]:
            groups[-1][0] *= shape[d]
        else:
            groups.append([shape[d], st[d]])
    if len(groups) > 2:
        return None
    if len(groups) == 2:
        return (groups[0][1], st[-2], st[-1], groups[0][0], groups[1][1])
    return (groups[0][1] if groups else 0, st[-2], st[-1], ONE_GROUP, 0)


def _as_conv(be, bufs, sa, sb, shape):
    """A @ B as a 1x1 convolution of B's columns by A; None when both operands are
    batched or B is broadcast."""
    n, k, m = sa[-2], sa[-1], sb[-1]
    nb = numel(shape[:-2])
    geometry = {"u_kernel": [1, 1], "u_stride": [1, 1], "u_dil": [1, 1], "u_pad": [0, 0]}
    k4 = -(-k // 4)
    if numel(sa[:-2]) != 1 and numel(sb[:-2]) != 1:
        return None
    if numel(sa[:-2]) == 1:
        xdims, ydims, batch = (k, 1, m, k4), (n, 1, m, -(-n // 4)), nb
        wbuf, xbuf = bufs[0], bufs[1] if numel(sb[:-2]) == nb else None
    else:
        rows = numel(sa[:-1])
        xdims, ydims, batch = (k, 1, m, k4), (rows, 1, m, -(-rows // 4)), 1
        wbuf, xbuf = bufs[0], bufs[1]
    if xbuf is None:
        return None
    return conv2d_packed(be, [xbuf, wbuf], (batch, ydims[0], 1, m), geometry, xdims, ydims)


def _blocked(be, a, b, n, k, m):
    """One (n, k) @ (k, m) product too large for the packed textures, in blocks that fit:
    row blocks of A and column blocks of B (read in place at an offset), concatenated;
    blocks of K, summed."""
    limit = be.max_texture
    rows = depth = limit // 8 * 8    # A's rows and K are padded to 8; K packs 4 a texel
    cols = 4 * limit                 # B's columns, 4 a texel
    add = BINARY["add"]

    def at(op, r, c):       # operand ``op`` read from its element (r, c) on
        t, st, off = op
        return t, st, off + r * st[1] + c * st[2]
    row_blocks = []
    for r in range(0, n, rows):
        rn = min(rows, n - r)
        col_blocks = []
        for c in range(0, m, cols):
            cm = min(cols, m - c)
            acc = None
            for d in range(0, k, depth):
                dk = min(depth, k - d)
                part = _packed(be, at(a, r, d), at(b, d, c), (rn, cm), rn, dk, cm, 1, 1, 1)
                acc = part if acc is None else lazy(be, add, [acc, part], [(rn, cm)] * 2,
                                                    (rn, cm), float32, {})
            col_blocks.append((acc, (rn, cm)))
        row_blocks.append(_cat(be, col_blocks, 1))
    return _cat(be, row_blocks, 0)[0]


def _cat(be, blocks, axis):
    """(buffer, shape) of ``blocks`` ((buffer, shape) pairs) concatenated along ``axis``."""
    if len(blocks) == 1:
        return blocks[0]
    shape = list(blocks[0][1])
    shape[axis] = sum(s[axis] for _, s in blocks)
    bufs, shapes = zip(*blocks)
    return cat(be, list(bufs), shapes, shape, None, {"axis": axis}), shape


def _fits(be, n, k, m, nb, na, nbb):
    """Whether the packed kernel can take an (n, k) @ (k, m) product of nb matrices (A's
    na, B's nbb): the GPU has its targets and each packed texture fits."""
    limit = be.max_texture
    n8, k4, m4 = -(-n // 8), -(-k // 8) * 2, -(-m // 4)
    return be.targets >= MAX_TARGETS and max(k4, m4) <= limit and \
        max(na * n8 * 8, nbb * k4 * 4, nb * n8) <= limit


def _packed(be, a, b, shape, n, k, m, nb, na, nbb):
    """Pack A and B four values to an RGBA texel (A's rows padded to a multiple of 8, K to a
    multiple of 8 so the loop takes two texels a turn), multiply 8x4 output blocks per
    fragment into MAX_TARGETS targets (one row of the block each; see
    shaders/matmul_packed.glsl), left there as an ir.Packed leaf; None when a texture would
    exceed the GPU's size limit or the GPU has fewer targets. ``a``, ``b``: (texture,
    (batch, row, column strides), offset)."""
    if not _fits(be, n, k, m, nb, na, nbb):
        return None
    n8, k4, m4 = -(-n // 8), -(-k // 8) * 2, -(-m // 4)
    u = {"u_mm": [n, k, m, n8], "u_batched": [int(na > 1), int(nbb > 1)]}
    kern = "matmul_packed"

    def packing(op, rows, cols, padded, count, width):
        """(the function packing operand ``op`` from its texture, a key of how)."""
        def make(src):
            st = op[1]
            return be.new(shape, kern, (("PACK", 1),), {"u_a": src},
                          {"u_pack": [rows, cols, padded], "u_st": list(st[:3]),
                           "u_bat": list(st[3:]), "u_off": op[2]},
                          packed=(width, count * padded))
        return make, ("pack", tuple(op[1]), op[2], rows, cols, padded, count, width)
    # A, an activation mostly, kept packed while it lives: the backward of a linear layer
    # packs it again as B (its layout is the same), for the weight's gradient
    make_a, key = packing(a, n, k, n8 * 8, na, k4)
    a = be.derived(a[0], key, make_a, first=True)
    # B, a weight mostly, packed once while it lives where it is read again (the weight of
    # a recurrent layer's steps)
    make_b, key = packing(b, k, m, k4 * 4, nbb, m4)
    b = be.derived(b[0], key, make_b)
    outs = targets(MAX_TARGETS, (m4, nb * n8))
    be.draw(kern, (("MM", 1),), {"u_a": a, "u_b": b}, outs[0], shape, u, extra=outs[1:])
    # left in the targets: a lazy leaf, unpacked by the elementwise chain that reads it (or
    # by a copy when another kernel needs it)
    return packed_result(outs, "mm", (n, m, n8), shape)
