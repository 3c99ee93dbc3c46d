"""Movement primitives. Views (reshape, permute, expand, slice, flip) draw nothing: a view is
a lazy leaf that the elementwise chain, reduction, matmul or conv consuming it reads in
place (``view``), copied only when another kernel needs it. unslice is an
expression of the elementwise chains (ir.Placed); cat, gather and scatter_add are kernels.
All of them keep int64 tensors in int textures (``ints=True``), exact over int32."""
from ...dtypes import int64
from ...ops.linalg import read_shape
from ...storage import view_strides
from .bridge import GLBuffer
from .ir import Const, LazyBuf, Leaf, Packed, Placed
from .registry import register
from .shapes import MAX_RANK, numel, pad, strides

# Inputs per cat pass: shaders/cat.glsl declares eight samplers. Longer lists take several
# passes, the result of one the first input of the next. (Before, one pass per input
# copied O(k^2) in the many-input concatenations of esrgan-medium's dense blocks; eight a
# pass took it from 9.3 s to 5.2 s at 64x64: commit 80ff167.)
CAT_INPUTS = 8


def strided(be, x, out_shape, st, offset=0):
    """A view of ``x`` (a product still in its kernel's targets, ir.Packed, stays there): a
    lazy leaf reading it at offset + dot(coordinates, ``st``)."""
    if not numel(out_shape):
        return be.empty()
    packed = x if type(x) is Packed else None
    if packed is None:
        x = be.realize(x)
    return LazyBuf(out_shape, Leaf(x, tuple(pad(st, 0)), offset), [x], 1,
                   getattr(x, "is_int", False), packed=packed)


def permuted(be, x, in_shape, dims):
    """``x`` (of ``in_shape``) with its dims in the order ``dims``, as a view (of ``x``'s
    source when ``x`` is a view itself)."""
    tex, st, off = view(be, x, in_shape, packed=True)
    return strided(be, tex, [in_shape[d] for d in dims], [st[d] for d in dims], off)


def view(be, buf, shape, packed=False):
    """(texture, strides, offset) to read ``buf`` (of ``shape``) from: a lazy view's source
    in place -- also where ``shape`` reshapes the view and its strides allow it (PyTorch's
    rule for ``view``, storage.view_strides) -- anything else realized and dense. A view of
    a product still in its kernel's targets (ir.Packed) is read in place only by callers
    that say they read one (``packed``: the elementwise chains and the views)."""
    if isinstance(buf, LazyBuf) and buf.real is None and type(buf.node) is Leaf and \
            (packed or type(buf.node.buf) is not Packed):
        leaf = buf.node
        st = list(leaf.strides[MAX_RANK - len(buf.shape):]) if buf.shape else []
        if buf.shape != tuple(shape):
            st = view_strides(buf.shape, st, tuple(shape))
        if st is not None:
            return leaf.buf, st, leaf.offset
    return be.realize(buf), strides(shape), 0


def operands(be, bufs, shapes, attrs):
    """matmul's two operands as ``view`` gives them, and their shapes as read
    (ops.linalg.read_shape): with ``ta`` (``tb``) the first (second) read transposed in
    place, with ``flat`` each as a matrix of its leading dims' rows (a reshape, in place
    where the strides allow)."""
    out = []
    flat = attrs.get("flat")
    for buf, s, t in zip(bufs, shapes, (attrs.get("ta"), attrs.get("tb"))):
        s = read_shape(s, flat=flat)
        tex, st, off = view(be, buf, s)
        if t:
            s, st = read_shape(s, transposed=True), list(st[:-2]) + [st[-1], st[-2]]
        out.append(((tex, st, off), s))
    (a, sa), (b, sb) = out
    return (a, b), (sa, sb)


def undrawn_constant(b):
    """Whether buffer ``b`` is a constant not drawn yet (``full``, a Python number written
    into a slice): its Const node is then what a view of it, or a placed slice, reads."""
    return type(b) is LazyBuf and b.real is None and type(b.node) is Const


def _keeps_constants(view_kernel):
    """A view kernel that gives a view of a constant not drawn yet as that constant in the
    view's shape: still nothing drawn."""
    def run(be, bufs, shapes, shape, dtype, attrs):
        b = bufs[0]
        if undrawn_constant(b):
            return LazyBuf(shape, b.node, [], 1, b.is_int)
        return view_kernel(be, bufs, shapes, shape, dtype, attrs)
    run.__name__ = run.__qualname__ = view_kernel.__name__
    return run


# The views below act dim by dim, so a view of a view is a view of the first one's source
# (a transposed slice of a weight, the transpose of a transposed operand): no copy.
@register("reshape", lazy_inputs=True, ints=True)
def reshape(be, bufs, shapes, shape, dtype, attrs):
    return bufs[0]      # row-major in either shape; a lazy input stays lazy


@register("permute", lazy_inputs=True, ints=True)
@_keeps_constants
def permute(be, bufs, shapes, shape, dtype, attrs):
    return permuted(be, bufs[0], shapes[0], attrs["dims"])


@register("expand", lazy_inputs=True, ints=True)
@_keeps_constants
def expand(be, bufs, shapes, shape, dtype, attrs):
    tex, st, off = view(be, bufs[0], shapes[0], packed=True)
    lead = len(shape) - len(shapes[0])
    return strided(be, tex, shape, [0] * lead + [0 if a != b else t for a, b, t in
                                                 zip(shapes[0], shape[lead:], st)], off)


@register("slice", lazy_inputs=True, ints=True)
@_keeps_constants
def slice_(be, bufs, shapes, shape, dtype, attrs):
    tex, st, off = view(be, bufs[0], shapes[0], packed=True)
    off += sum(s * t for s, t in zip(attrs["starts"], st))
    return strided(be, tex, shape, [s * t for s, t in zip(attrs["steps"], st)], off)


@register("flip", lazy_inputs=True, ints=True)
@_keeps_constants
def flip(be, bufs, shapes, shape, dtype, attrs):
    tex, st, off = view(be, bufs[0], shapes[0], packed=True)
    off += sum((shape[d] - 1) * st[d] for d in attrs["dims"])
    return strided(be, tex, shape, [-t if d in attrs["dims"] else t for d, t in enumerate(st)],
                   off)


@register("unslice", lazy_inputs=True, ints=True)
def unslice(be, bufs, shapes, shape, dtype, attrs):
    """No draw of its own: an expression (ir.Placed) that the elementwise chain consuming it
    computes -- the sum of a split's slice gradients is one draw. A constant not drawn yet
    (a Python number written into a slice) is placed as that constant: no texture."""
    if not numel(shape):
        return be.empty()
    b = bufs[0]
    if undrawn_constant(b):
        inside, leaves, is_int = b.node, [], b.is_int
    else:
        tex, st, off = view(be, b, shapes[0])
        inside, leaves = Leaf(tex, tuple(pad(st, 0)), off), [tex]
        is_int = getattr(tex, "is_int", False)
    node = Placed(inside, tuple(pad(attrs["starts"], 0)), tuple(pad(attrs["steps"])),
                  tuple(pad(shapes[0])), (1,) * MAX_RANK, attrs["value"])
    return LazyBuf(shape, node, leaves, 1, is_int)


@register("cat", shaders=("cat",), ints=True)
def cat(be, bufs, shapes, shape, dtype, attrs):
    """WebGL's cat: inputs that are whole rows of the output's texture copied into their
    rows (``_cat_rows``), else ``cat_tree``."""
    out = _cat_rows(be, bufs, shapes, shape, attrs["axis"], dtype)
    return cat_tree(be, bufs, shapes, shape, dtype, attrs) if out is None else out


def cat_tree(be, bufs, shapes, shape, dtype, attrs):
    """Up to CAT_INPUTS inputs per pass; longer lists in a tree of passes (groups of the
    inputs, then groups of those), so each element is copied log8(inputs) times, not once
    a pass as when each pass took the previous one's result."""
    axis = attrs["axis"]
    pairs = list(zip(bufs, [list(s) for s in shapes]))
    while len(pairs) > 1:
        pairs = [_cat_pass(be, pairs[i:i + CAT_INPUTS], axis, shape, dtype)
                 for i in range(0, len(pairs), CAT_INPUTS)]
    return pairs[0][0]


def _cat_rows(be, bufs, shapes, shape, axis, dtype):
    """cat when each input is whole rows of the output's texture (nothing before the axis,
    every input a multiple of the row width long, no texture split in layers): one draw per
    input into its rows, a fetch per element -- the stacked time steps of a recurrent layer
    (64 inputs of 8192 elements) -- instead of the general kernel's tree of passes that
    find each element's input. None otherwise."""
    width, inner = be._row, numel(shape[axis + 1:])
    if numel(shape[:axis]) != 1 or numel(shape) <= width or \
            any(s[axis] * inner % width for s in shapes):
        return None
    bufs = [be.realize(b) for b in bufs]
    out = GLBuffer(numel(shape), is_int=dtype is int64)
    if out.split or any(b.split for b in bufs):
        out.free()
        return None
    row = 0
    for b, s in zip(bufs, shapes):
        rows = s[axis] * inner // width
        if rows:
            be.draw("cat", (("N", 1), ("ROWS", 1)), {"u_in0": b}, out, shape,
                    {"u_rows": [row, rows]})
        row += rows
    return out


def _cat_pass(be, group, axis, shape, dtype):
    """One draw: the inputs of ``group`` ([(buffer, shape)]) concatenated, with its shape."""
    if len(group) == 1:
        return group[0]
    out_shape = list(group[0][1])
    out_shape[axis] = sum(s[axis] for _, s in group)
    inputs = {f"u_in{i}": b for i, (b, _) in enumerate(group)}
    buf = be.new(out_shape, "cat", (("N", len(group)),), inputs,
                 cat_uniforms([s for _, s in group], axis, out_shape), is_int=dtype is int64)
    return buf, out_shape


def cat_uniforms(shapes, axis, out_shape):
    """cat.glsl's (and cat.wgsl's) uniforms for inputs of ``shapes`` along ``axis``."""
    ends, acc = [], 0
    for s in shapes:
        acc += s[axis]
        ends.append(acc)
    ends += [1 << 30] * (CAT_INPUTS - len(ends))     # unused slots, never read
    return {"u_axis": axis + MAX_RANK - len(out_shape), "u_ends": ends,
            "u_inner": numel(out_shape[axis + 1:])}


def _read(be, buf, shape, name):
    """The sampler, strides and offset uniforms to read ``buf`` (of ``shape``) in place."""
    tex, st, off = view(be, buf, shape)
    return {name: tex}, {name + "_st": pad(st, 0), name + "_off": off}


@register("gather", shaders=("gather",), lazy_inputs=True, ints=True)
def gather(be, bufs, shapes, shape, dtype, attrs):
    (ia, ua), (ib, ub) = _read(be, bufs[0], shapes[0], "u_a"), _read(be, bufs[1], shape, "u_b")
    return be.new(shape, "gather", (), {**ia, **ib},
                  {**ua, **ub, "u_axis": attrs["axis"] + MAX_RANK - len(shape)},
                  is_int=dtype is int64)


@register("scatter_add", shaders=("scatter_add",), lazy_inputs=True, ints=True)
def scatter_add(be, bufs, shapes, shape, dtype, attrs):
    idx_shape = shapes[1]
    # src may be larger than index: only its leading part (index's shape) is read, with
    # src's own strides
    (ia, ua), (ib, ub) = _read(be, bufs[0], shapes[0], "u_a"), _read(be, bufs[1], idx_shape, "u_b")
    axis = attrs["axis"] + MAX_RANK - len(shape)
    u = {**ua, **ub, "u_idx_shape": pad(idx_shape), "u_axis": axis}
    is_int = dtype is int64
    if any(s and n > 1 for d, (s, n) in enumerate(zip(ub["u_b_st"], pad(idx_shape)))
           if d != axis):
        return be.new(shape, "scatter_add", (("FIRST", 0),), {**ia, **ib}, u, is_int=is_int)
    # the index is broadcast along the other dims (embedding's backward): find each
    # position's first match once (an int position), so the positions no index names are
    # written at once
    first = be.new((shape[attrs["axis"]],), "scatter_add", (("FIRST", 1), ("PASS", 0)), ib,
                   dict(u), is_int=True)
    return be.new(shape, "scatter_add", (("FIRST", 1), ("PASS", 1)),
                  {**ia, **ib, "u_c": first}, {**u, "u_inner": numel(shape[attrs["axis"] + 1:])},
                  is_int=is_int)
