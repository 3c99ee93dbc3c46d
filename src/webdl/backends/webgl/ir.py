"""The lazy-fusion IR: an elementwise result not computed yet is a LazyBuf holding an
expression tree over realized buffers, and ``generate`` turns expressions into the main()
of one fragment shader (appended to shaders/elementwise.glsl, whose op_<name> functions it
calls).

Integers: a node whose result is int64 (``is_int`` on Const, Apply, Where and LazyBuf; a
Leaf's buffer knows its own texture kind) is computed as GLSL ``int`` on WebGL, through the
int overloads of elementwise.glsl, so int64 stays exact over the int32 range; an op on ints
with a float result converts its inputs with float(), a comparison of two ints compares
ints. WebGPU's codegen (``typed=False``) computes everything in f32 as before."""
import functools
from math import prod
from typing import NamedTuple

from .bridge import is_small, num
from .shapes import MAX_RANK, pad, strides


new_node = tuple.__new__    # new_node(Leaf, (...)): a node without its NamedTuple's Python-level
                            # __new__ (the per-op hot paths)


class Leaf(NamedTuple):
    """Buffer ``buf`` read at ``offset`` + dot(output coordinates, ``strides``) (MAX_RANK
    strides, 0 along broadcast dims): a realized input, or a view read in place."""
    buf: object
    strides: tuple
    offset: int


class Const(NamedTuple):
    """A scalar, passed as a uniform (an int uniform when ``is_int``)."""
    value: float
    is_int: bool = False


class Apply(NamedTuple):
    """``fn(kids..., params...)``, a function of elementwise.glsl: unary functions take two
    float parameters (uniforms, 0 where unused), binary ones none (``params`` None)."""
    fn: str
    kids: tuple
    params: tuple | None
    is_int: bool = False    # its result is int64


class Where(NamedTuple):
    """``kids`` = (condition, then, else): a ternary in the generated code."""
    kids: tuple
    is_int: bool = False


class Round(NamedTuple):
    """``kid`` rounded to the nearest integer."""
    kid: object


class Placed(NamedTuple):
    """unslice as an expression: ``leaf`` (a buffer read at offset + dot(its own
    coordinates, strides), of ``shape``; or a Const, the same value everywhere: no buffer)
    placed at ``starts`` + i * ``steps`` in the output, ``value`` elsewhere. ``keep`` is 0
    along the dims broadcast since (their coordinate reads as 0). All tuples are MAX_RANK
    long, aligned on the right."""
    leaf: object
    starts: tuple
    steps: tuple
    shape: tuple
    keep: tuple
    value: float


class Packed:
    """A product still in the render targets of the packed kernel that computed it: the
    buffer of a lazy leaf, which the elementwise chain consuming it reads in place
    (elementwise.glsl's unpack8 / unpackc) -- a bias, an activation or a residual add costs
    no pass of its own to unpack it first -- and which the packed convolution packs straight
    from its targets. Anything else reads it realized (``view``). ``kind`` "mm": a matmul's
    (batch, n, m) product in shaders/matmul_packed.glsl's eight targets (row i in target
    i % 8), ``geo`` (n, m, n8); "conv": a convolution's (N, O, Ho, Wo) output in
    shaders/conv2d_packed.glsl's COLS targets (column w in target w % COLS), ``geo`` (O,
    Ho, Wo, O4, wq, R). Its targets' samplers count against a shader's sixteen: one Packed
    a chain."""
    __slots__ = ("targets", "kind", "geo", "__weakref__")
    is_int = False
    split = 0

    def __init__(self, targets, kind, geo):
        self.targets, self.kind, self.geo = tuple(targets), kind, tuple(geo)

    def eight(self):
        """The targets as eight samplers' worth (pick8 in common.glsl): the last repeated."""
        return [self.targets[min(r, len(self.targets) - 1)] for r in range(8)]


def packed_result(targets, kind, geo, shape):
    """The lazy result of ``shape`` that a packed kernel left in ``targets`` (see Packed)."""
    out = Packed(targets, kind, geo)
    return LazyBuf(shape, Leaf(out, dense_strides(shape), 0), [out], 1, packed=out)


# The samplers a shader may use (WebGL2 promises 16 per fragment shader)
MAX_SAMPLERS = 16


def samplers(nodes):
    """The samplers that the shader computing expressions ``nodes`` declares: one per
    distinct buffer read (reads of one buffer at other strides or offsets share its sampler:
    an optimizer's scalars, slices of one tensor), a Packed one's per distinct read and
    target, one per Placed node."""
    reads, n, stack = {}, 0, list(nodes)
    while stack:
        x = stack.pop()
        kind = type(x)
        if kind is Leaf:
            b = x.buf
            reads[(id(b), x.strides, x.offset) if type(b) is Packed else id(b)] = b
        elif kind is Placed:
            n += type(x.leaf) is Leaf
        elif kind is Round:
            stack.append(x.kid)
        elif kind is Apply or kind is Where:
            stack.extend(x.kids)
    return n + sum(len(b.targets) if type(b) is Packed else 1 for b in reads.values())


class LazyBuf:
    """An elementwise result not computed yet: an expression (``node``) over realized
    buffers (``leaves``, the distinct ones; ``size``, its node count). Chains of elementwise
    ops grow one expression, compiled into one shader when something else needs the values
    (another kernel, a readback, a stored optimizer state); ``real`` then holds the texture."""
    __slots__ = ("shape", "numel", "node", "leaves", "size", "real", "is_int", "tpl",
                 "packed", "__weakref__")

    def __init__(self, shape, node, leaves, size, is_int=False, tpl=None, packed=None):
        self.shape, self.numel = tuple(shape), prod(shape)
        self.node, self.leaves, self.size, self.real = node, leaves, size, None
        self.is_int = is_int    # an int64 result: realized into an int texture on WebGL
        self.tpl = tpl          # the node's template (see ``combine``), made when needed
        self.packed = packed    # the Packed product among the leaves, if any

    def free(self):
        if self.real is not None:
            self.real.free()
        self.node, self.leaves, self.tpl, self.packed = None, (), None, None

    def template(self, typed, ternary):
        """This expression's template (the backend's IR mode: ``typed``, ``ternary``)."""
        tpl = self.tpl
        if tpl is None:
            tpl = self.tpl = template(self.node, typed, ternary)
        return tpl


def broadcast(node, shape, out_shape):
    """Expression ``node`` over ``shape`` read at the coordinates of ``out_shape``: its
    leaves' strides are 0 along the broadcast dims."""
    kind = type(node)
    if kind is Leaf:
        keep = _kept(tuple(shape), tuple(out_shape))
        return Leaf(node.buf, tuple([t if k else 0 for t, k in zip(node.strides, keep)]),
                    node.offset)
    if kind is Const:
        return node
    if kind is Placed:
        keep = tuple(k if a == b else 0 for k, a, b in zip(node.keep, pad(shape), pad(out_shape)))
        return node._replace(keep=keep)
    if kind is Apply or kind is Where:
        return node._replace(kids=tuple(broadcast(k, shape, out_shape) for k in node.kids))
    return Round(broadcast(node.kid, shape, out_shape))


@functools.lru_cache(maxsize=1024)
def _kept(shape, out_shape):
    """Per padded dim, whether ``shape`` keeps it in ``out_shape`` (else it is broadcast)."""
    return tuple([a == b for a, b in zip(pad(shape), pad(out_shape))])


COMPARE = frozenset(("op_eq", "op_ne", "op_lt", "op_le", "op_gt", "op_ge"))
INT32 = (-(1 << 31), (1 << 31) - 1)


def is_int(node):
    """Whether ``node``'s value is an int (an int texture's, or an int64 result)."""
    kind = type(node)
    if kind is Leaf:
        return getattr(node.buf, "is_int", False)
    if kind is Placed:
        leaf = node.leaf
        return leaf.is_int if type(leaf) is Const else getattr(leaf.buf, "is_int", False)
    if kind is Round:
        return is_int(node.kid)
    return node.is_int


def int_param(v):
    """A parameter of an int op as an int uniform (infinite bounds: the int32 limits)."""
    return int(min(max(v, INT32[0]), INT32[1]))


def expressions(nodes, ternary=True, typed=False, want=None, tpls=None):
    """GLSL expressions for ``nodes``: ([expression per node], {(buffer id, strides,
    offset): (k, Leaf)} for the inputs read as v<k>, the values of the uniform u_p (and of
    the int uniform u_q), [Placed nodes, computed before as w<k>]). With ``ternary`` False
    (WGSL, which has no ?:) a Where is a call of ``op_where(c, a, b)``; the rest of the
    syntax is common to GLSL and WGSL. With ``typed`` (WebGL) int nodes compute as GLSL ints
    (see the module docstring), each value converted where its consumer wants the other
    type, and node j as an int when ``want[j]``.

    The strings depend only on the expressions' structure: ``walk`` collects the values and
    a key of that structure from the nodes' templates (``tpls``, made when not given), and
    the strings are written (``_emit``) once per key."""
    key, slots, params, iparams, placed = walk(nodes, ternary, typed, want, tpls)
    exprs = _EXPRS.get(key)
    if exprs is None:
        exprs = _EXPRS[key] = _written(key, nodes, ternary, typed, want, slots, params,
                                       iparams, placed)
    return exprs, slots, params, iparams, placed


_EXPRS = {}     # structure key (walk) -> the expressions' strings


def _written(key, nodes, ternary, typed, want, slots, params, iparams, placed):
    """The strings of a structure seen for the first time, written by ``_emit``, whose
    values must be what ``walk`` collected (the key stands for the strings)."""
    exprs, slots2, params2, iparams2, placed2 = _emit(nodes, ternary, typed, want)
    if (slots2, params2, iparams2, placed2) != (slots, params, iparams, placed):
        raise AssertionError("webgl: the expression walk and its code disagree")
    return exprs


# Templates. A template is what ``_emit`` would collect from one expression, and a key of
# its structure, without writing strings: (sig, occ, params, iparams, placed) -- ``sig``, a
# nested tuple recording each decision _emit takes (node kinds, the functions called, int or
# float arguments and parameters, conversions); ``occ``, the leaves in the order _emit reads
# them (their slots follow: numbered by first read); the float and int parameter values and
# the Placed nodes, in _emit's order. A node's template is made from its kids' (``combine``)
# when the lazy chain grows, so a realization walks no tree: its key is the roots' sigs and
# the slot of each leaf read.
_LEAF = {False: ("L", False), True: ("L", True)}
_CONST_I, _CONST_F = ("CI",), ("C",)
_NO = ()


def _ctx(tpl, node, as_int, typed):
    """``tpl`` (of ``node``) as read by a consumer that wants an int (``as_int`` True), a
    float (False) or either (None): with a conversion where the types differ."""
    if typed and as_int is not None and as_int != is_int(node):
        return ((1 if as_int else 0), tpl[0])
    return tpl[0]


def combine(node, kids, typed, ternary):
    """The template of ``node`` (an Apply, Where or Round of an Apply), given its kids'
    templates ``kids`` (for a Round: its Apply's kids')."""
    kind = type(node)
    if kind is Round:
        inner = combine(node.kid, kids, typed, ternary)
        return (("K" if typed and is_int(node.kid) else "R", inner[0]),) + inner[1:]
    nk = node.kids
    if kind is Where and ternary:
        c, a, b = nk
        tc, ta, tb = kids
        sig = ("W", node.is_int, _ctx(tc, c, None, typed), typed and is_int(c),
               _ctx(ta, a, node.is_int, typed), _ctx(tb, b, node.is_int, typed))
        return (sig, tc[1] + ta[1] + tb[1], tc[2] + ta[2] + tb[2], tc[3] + ta[3] + tb[3],
                tc[4] + ta[4] + tb[4])
    if kind is Where:
        fn, params, int_args, int_params = "op_where", None, False, False
    else:
        fn, params = node.fn, node.params
        int_args = int_params = False
        if typed and (node.is_int or fn in COMPARE):
            if fn == "op_cast":             # to int64: the kid as an int
                t = kids[0]
                return (("CAST", _ctx(t, nk[0], True, typed)),) + t[1:]
            int_params = node.is_int
            int_args = int_params or all(is_int(k) for k in nk)
    if len(kids) == 1:
        t = kids[0]
        sig = (fn, _ctx(t, nk[0], int_args, typed) if typed else t[0])
        occ, ps, ips, pl = t[1], t[2], t[3], t[4]
    elif len(kids) == 2:    # a binary op, the most common node: unrolled (_ctx inlined)
        t, u = kids
        if typed:
            a, b = nk
            sig = (fn, t[0] if int_args == is_int(a) else ((1 if int_args else 0), t[0]),
                   u[0] if int_args == is_int(b) else ((1 if int_args else 0), u[0]))
        else:
            sig = (fn, t[0], u[0])
        occ, ps, ips, pl = t[1] + u[1], t[2] + u[2], t[3] + u[3], t[4] + u[4]
    else:
        sig = (fn,) + tuple(_ctx(t, k, int_args, typed) for t, k in zip(kids, nk))
        occ, ps, ips, pl = kids[0][1], kids[0][2], kids[0][3], kids[0][4]
        for t in kids[1:]:
            occ, ps, ips, pl = occ + t[1], ps + t[2], ips + t[3], pl + t[4]
    if params is None:
        sig += (None,)
    elif int_params:
        sig += (True,)
        ips = ips + tuple(int_param(v) for v in params)
    else:
        sig += (False,)
        ps = ps + tuple(num(v) for v in params)
    return sig, occ, ps, ips, pl


def template(node, typed, ternary):
    """The template of any expression (see ``combine``), made by walking it."""
    kind = type(node)
    if kind is Leaf:
        return _LEAF[bool(typed and getattr(node.buf, "is_int", False))], (node,), _NO, _NO, _NO
    if kind is Const:
        if typed and node.is_int:
            return _CONST_I, _NO, _NO, (int(node.value),), _NO
        return _CONST_F, _NO, (num(node.value), 0.0), _NO, _NO
    if kind is Placed:
        return ("P", is_int(node), _unit(node), type(node.leaf) is Const), _NO, _NO, _NO, (node,)
    if kind is Round:
        t = template(node.kid, typed, ternary)
        return (("K" if typed and is_int(node.kid) else "R", t[0]),) + t[1:]
    return combine(node, [template(k, typed, ternary) for k in node.kids], typed, ternary)


def walk(nodes, ternary=True, typed=False, want=None, tpls=None):
    """What ``_emit`` collects for ``nodes`` -- (key, slots, params, iparams, placed) --
    from their templates (``tpls``, made by walking the nodes when not given)."""
    if tpls is None:
        tpls = [template(n, typed, ternary) for n in nodes]
    if len(tpls) == 1:
        t = tpls[0]
        sigs = _ctx(t, nodes[0], want[0] if want else None, typed)
        occ, params, iparams, placed = t[1], t[2], t[3], t[4]
    else:
        sigs = tuple(_ctx(t, n, want[j] if want else None, typed)
                     for j, (t, n) in enumerate(zip(tpls, nodes)))
        occ, params, iparams, placed = (), (), (), ()
        for t in tpls:
            occ, params, iparams, placed = (occ + t[1], params + t[2], iparams + t[3],
                                            placed + t[4])
    slots, pattern = {}, []
    for leaf in occ:
        k = (id(leaf.buf), leaf.strides, leaf.offset)
        slot = slots.get(k)
        if slot is None:
            slot = slots[k] = (len(slots), leaf)
        pattern.append(slot[0])
    return ((ternary, typed, len(tpls), sigs, tuple(pattern)), slots, list(params),
            list(iparams), list(placed))


def _emit(nodes, ternary=True, typed=False, want=None):
    """GLSL expressions for ``nodes``: ([expression per node], {(buffer id, strides,
    offset): (k, Leaf)} for the inputs read as v<k>, the values of the uniform u_p (and of
    the int uniform u_q), [Placed nodes, computed before as w<k>]). Each expression is
    written piece by piece into one list, so its cost grows with its size (nested strings
    would copy every subexpression once per level). With ``ternary`` False (WGSL, which has
    no ?:) a Where is a call of ``op_where(c, a, b)``; the rest of the syntax is common to
    GLSL and WGSL. With ``typed`` (WebGL) int nodes compute as GLSL ints (see the module
    docstring), each value converted where its consumer wants the other type, and node j
    as an int when ``want[j]``."""
    slots, params, iparams, placed = {}, [], [], []

    def emit(node, out, as_int=None):
        if typed and as_int is not None and as_int != is_int(node):
            out.append("int(" if as_int else "float(")
            emit(node, out)
            out.append(")")
            return
        kind = type(node)
        if typed and kind is Apply and (node.is_int or node.fn in COMPARE):
            emit_int(node, out)
        elif kind is Placed:
            placed.append(node)
            out.append(f"w{len(placed) - 1}")
        elif kind is Leaf:
            key = (id(node.buf), node.strides, node.offset)
            slot = slots.get(key)
            if slot is None:
                slot = slots[key] = (len(slots), node)
            out.append(f"v{slot[0]}")
        elif kind is Const and typed and node.is_int:
            out.append(f"u_q[{len(iparams)}]")
            iparams.append(int(node.value))
        elif kind is Const:
            out.append(f"u_p[{len(params)}]")
            params.extend((num(node.value), 0.0))
        elif kind is Where and not ternary:
            emit(Apply("op_where", node.kids, None), out)
        elif kind is Where:
            c, a, b = node.kids
            out.append("(")
            emit(c, out)
            out.append(" != 0 ? " if typed and is_int(c) else " != 0.0 ? ")
            emit(a, out, node.is_int)
            out.append(" : ")
            emit(b, out, node.is_int)
            out.append(")")
        elif kind is Round and typed and is_int(node.kid):
            emit(node.kid, out)     # an int result is exact already
        elif kind is Round:
            out.append("round(")
            emit(node.kid, out)
            out.append(")")
        else:
            call(node, out, False, False)

    def emit_int(node, out):
        """An int op (its int overload in elementwise.glsl, params as int uniforms), or a
        comparison: of ints when both sides are ints, else of floats."""
        if node.fn == "op_cast":        # to int64: int() truncates toward zero, as torch
            emit(node.kids[0], out, True)
            return
        call(node, out, node.is_int or all(is_int(k) for k in node.kids), node.is_int)

    def call(node, out, int_args, int_params):
        """``op_<name>(kids..., params...)``, the kids as ints or floats, the params as int
        (u_q) or float (u_p) uniforms."""
        out.append(node.fn + "(")
        for i, k in enumerate(node.kids):
            if i:
                out.append(", ")
            emit(k, out, int_args)
        if node.params is not None and int_params:
            out.append(f", u_q[{len(iparams)}], u_q[{len(iparams) + 1}]")
            iparams.extend(int_param(v) for v in node.params)
        elif node.params is not None:
            out.append(f", u_p[{len(params)}], u_p[{len(params) + 1}]")
            params.extend(num(v) for v in node.params)
        out.append(")")

    exprs = []
    for j, n in enumerate(nodes):
        out = []
        emit(n, out, want[j] if want else None)
        exprs.append("".join(out))
    return exprs, slots, params, iparams, placed


# A Placed node's value: its input where the output coordinate (cc, unravelled from the
# output index) lands on start + i * step in every dim (``read``: its texel at ``at``, or a
# constant's uniform), its value elsewhere.
_PLACED = """    {t} w{k} = u_pv{k};
    {{
        bool in_{k} = true;
        int at = u_po{k};
        for (int d = 0; d < 6; ++d) {{
            int r = cc[d] * u_pk{k}[d] - u_pa{k}[d];
            if (r < 0 || r % u_pb{k}[d] != 0 || r / u_pb{k}[d] >= u_pn{k}[d]) in_{k} = false;
            at += (r / u_pb{k}[d]) * u_ps{k}[d];
        }}
        if (in_{k}) w{k} = {read};
    }}
"""


# The same where every step is 1 (slices of a split, of a sequence): no divisions, which are
# what costs on SwiftShader (the LSTM's output slices: 100 -> 66 ms for 2 draws).
_PLACED_UNIT = """    {t} w{k} = u_pv{k};
    {{
        bool in_{k} = true;
        int at = u_po{k};
        for (int d = 0; d < 6; ++d) {{
            int r = cc[d] * u_pk{k}[d] - u_pa{k}[d];
            if (r < 0 || r >= u_pn{k}[d]) in_{k} = false;
            at += r * u_ps{k}[d];
        }}
        if (in_{k}) w{k} = {read};
    }}
"""


def placed_uniforms(k, pl, cast=float):
    """The uniforms of Placed node ``pl``, the k-th of a kernel (both GPU backends' code reads
    them): its value elsewhere and a constant's where it lands (``cast``), where and how it
    lands, how its input is read."""
    leaf = pl.leaf
    out = {f"u_pv{k}": cast(pl.value), f"u_pk{k}": list(pl.keep), f"u_pa{k}": list(pl.starts),
           f"u_pb{k}": list(pl.steps), f"u_pn{k}": list(pl.shape)}
    if type(leaf) is Const:     # its value where it lands (nothing read: no offset, strides)
        out.update({f"u_pc{k}": cast(leaf.value), f"u_po{k}": 0, f"u_ps{k}": [0] * MAX_RANK})
    else:
        out.update({f"u_po{k}": leaf.offset, f"u_ps{k}": list(leaf.strides)})
    return out


def _unit(placed):
    """Whether a Placed node's steps are all 1."""
    return all(s == 1 for s in placed.steps)


def merged_dims(slots, shape):
    """(the dense strides of ``shape``, [(k, Leaf) of the inputs not read densely], [[size,
    [stride per strided input]] per merged dim]): neighbouring dims of size > 1 merge where
    every strided input's strides chain. (No dims where every input is dense: none are
    read.)"""
    dense = _dense(tuple(shape))
    strided = [(k, leaf) for k, leaf in slots.values()
               if leaf.strides != dense or leaf.offset]
    if not strided:
        return dense, strided, []
    return dense, strided, _merged(tuple(shape), tuple([leaf.strides for _, leaf in strided]))


def dense_strides(shape):
    """The row-major strides of ``shape``, MAX_RANK long."""
    return _dense(tuple(shape))


@functools.lru_cache(maxsize=1024)
def _dense(shape):
    """The dense strides of ``shape``, MAX_RANK long (cached: shapes recur every step)."""
    return tuple(pad(strides(shape), 0))


@functools.lru_cache(maxsize=4096)
def _merged(shape, sts):
    """merged_dims' dims for strided inputs of strides ``sts`` (cached by them: a training
    step reads the same views each time)."""
    dims = []
    for d, size in enumerate(pad(shape)):
        if size == 1:
            continue
        st = [t[d] for t in sts]
        if dims and all(p == t * size for p, t in zip(dims[-1][1], st)):
            dims[-1] = [dims[-1][0] * size, st]
        else:
            dims.append([size, st])
    return dims


def generate(nodes, shape, split_out=False, ints=None, tpls=None, fn=False, any_read=False):
    """The main() computing expressions ``nodes`` over ``shape``, the first into location 0
    (common.glsl's emit), the others into locations 1, 2, ...: (GLSL code, {sampler:
    buffer}, {uniform: value}). ``split_out``: the outputs are split tensors (drawn layer
    by layer). ``ints[j]``: output j is an int texture (its node computed as an int).

    Each input is read the cheapest way it allows (integer division is what costs on
    SwiftShader): at the output's own texel when it is dense in the output's shape (its
    texture then has the same layout); otherwise at the coordinates of the output index
    over the merged dims (neighbouring dims merge when every strided input's strides
    chain), unravelled with one division pair per merged dim. The code depends on the
    expressions' structure, on which inputs are dense and on the merged rank; constants,
    parameters, dims, strides and offsets are uniforms. The code is written once per such
    key (``_code``); each call computes only the inputs and uniforms.

    With ``fn`` the code is instead a function ``value(int idx)`` of one expression (an int
    when ``ints[0]``), the value at position ``idx`` of ``shape``, for a kernel that reads the
    expression where it would read a texture (a reduction of an elementwise chain: no draw
    of the chain first); every input is then read at an index, none at the texel drawn.
    Only for expressions whose inputs are all dense in ``shape`` (read at ``idx`` itself);
    None for others -- unless ``any_read``: then any (a position unravelled per read)."""
    ints = ints or [False] * len(nodes)
    out_small = is_small(prod(shape))
    key, slots, params, iparams, placed = walk(nodes, True, True, ints, tpls)
    dense, strided, dims = merged_dims(slots, shape)
    rank = len(dims) if strided else 0
    if fn and (rank or placed) and not any_read:
        # a position unravelled per read (integer division: what costs on SwiftShader) in
        # a reduction's loop cost more than the draw it saves (measured): not as a function
        return None
    # how each input is read: 0 at the output's texel, 1 its layer of a split output, 2 a
    # split input at the output's index, 3 strided; a Packed product (kind, how -- for
    # "mm" whether its sizes are powers of two, for "conv" its target count -- strided)
    reads = []
    inputs, uniforms = {}, {}
    # merged dims that are all powers of two are unravelled with masks and shifts: integer
    # division is what costs on SwiftShader
    pow2 = bool(rank) and all(d[0] & (d[0] - 1) == 0 for d in dims)
    if rank:
        uniforms["u_dims"] = pad([d[0] for d in dims])
    if pow2:
        uniforms["u_dsh"] = pad([d[0].bit_length() - 1 for d in dims], 0)
    j = 0
    # the slot whose sampler each slot reads: the first that reads its buffer
    first, share = {}, []
    for k, leaf in slots.values():
        share.append(k if type(leaf.buf) is Packed else first.setdefault(id(leaf.buf), k))
    share = tuple(share)
    for k, leaf in slots.values():
        buf = leaf.buf
        if type(buf) is Packed:     # read through unpack8 / unpackc: targets, geometry
            for r, t in enumerate(buf.targets):      # its own samplers, passed as eight
                inputs[f"u_in{k}_{r}"] = t
            if buf.kind == "mm":
                n, m, n8 = buf.geo
                how = n & (n - 1) == 0 and m & (m - 1) == 0     # powers of two: shifts
                uniforms[f"u_gk{k}"] = [m.bit_length() - 1, n.bit_length() - 1, n8, 0] \
                    if how else [m, n, n8, 0]
            else:
                o, ho, wo, o4, wq, rows = buf.geo
                how = len(buf.targets)
                uniforms[f"u_gk{k}"] = [wo, ho, o, o4]
                uniforms[f"u_gq{k}"] = [wq, rows]
            strided_read = leaf.strides != dense or bool(leaf.offset)
            reads.append((buf.kind, how, strided_read))
            if strided_read:
                uniforms[_ST[k]] = pad([dd[1][j] for dd in dims], 0)
                uniforms[_OFF[k]] = leaf.offset
                j += 1
            continue
        inputs[_IN[share[k]]] = buf
        if leaf.strides == dense and not leaf.offset and fn:
            reads.append(2)         # at the function's index
            continue
        if leaf.strides == dense and not leaf.offset:
            # at the output's texel where the layouts agree (a prefix of a larger buffer
            # may be wide where the output is small, see gl.js): else at its index
            split = getattr(buf, "split", 0)
            reads.append(2 if split and not split_out or
                         getattr(buf, "small", False) != out_small else 1 if split else 0)
            continue
        reads.append(3)
        uniforms[_ST[k]] = pad([dd[1][j] for dd in dims], 0)
        uniforms[_OFF[k]] = leaf.offset
        j += 1
    for k, pl in enumerate(placed):
        uniforms.update(placed_uniforms(k, pl, int if is_int(pl) else num))
        if type(pl.leaf) is not Const:
            inputs[f"u_pin{k}"] = pl.leaf.buf
    if iparams:
        uniforms["u_q"] = iparams
    if params:
        uniforms["u_p"] = params
    ck = (key, tuple(ints), tuple(reads), rank, pow2, share, fn)
    code = _CODE.get(ck)
    if code is None:
        code = _CODE[ck] = _code(nodes, ints, slots, reads, rank, placed, len(params),
                                 len(iparams), pow2, share, fn)
    return code, inputs, uniforms


_CODE = {}      # (structure key, output ints, input reads, merged rank) -> GLSL main()
# uniform names by slot (a chain's slots are at most its node count per output)
_IN = [f"u_in{k}" for k in range(1024)]
_ST = [f"u_st{k}" for k in range(1024)]
_OFF = [f"u_off{k}" for k in range(1024)]


def _code(nodes, ints, slots, reads, rank, placed, nparams, niparams, pow2, share,
          as_fn=False):
    """generate's GLSL for one key (see there); ``share``: the slot whose sampler each slot
    reads (by slot order); ``as_fn``: the function ``value(idx)`` instead of main()."""
    exprs = expressions(nodes, typed=True, want=ints)[0]
    decl, fetches = [], []
    index = "idx" if as_fn else "out_index()"     # the position computed
    if rank:
        decl.append(f"uniform int u_dims[{MAX_RANK}];\n")
        fetches.append(f"    int i = {index};\n")
        if pow2:
            decl.append(f"uniform int u_dsh[{MAX_RANK}];\n")
        for d in range(MAX_RANK - 1, MAX_RANK - rank, -1):
            fetches.append(f"    int c{d} = i & (u_dims[{d}] - 1);\n    i >>= u_dsh[{d}];\n"
                           if pow2 else
                           f"    int c{d} = i % u_dims[{d}];\n    i /= u_dims[{d}];\n")
        fetches.append(f"    int c{MAX_RANK - rank} = i;\n")
    for (k, leaf), read, k0 in zip(slots.values(), reads, share):
        t, sampler = _TYPES[is_int(leaf)]
        if type(read) is tuple:     # a Packed product: its targets
            kind, how, strided_read = read
            ntargets = 8 if kind == "mm" else how
            decl.append("".join(f"uniform sampler2D u_in{k}_{r};\n" for r in range(ntargets))
                        + f"uniform ivec4 u_gk{k};\n")
            if strided_read:
                decl.append(f"uniform int u_st{k}[{MAX_RANK}];\nuniform int u_off{k};\n")
                at = " + ".join([f"u_off{k}"] + [f"c{d} * u_st{k}[{d}]"
                                                 for d in range(MAX_RANK - rank, MAX_RANK)])
            else:
                at = index
            # eight sampler arguments: a target repeated where the product has fewer
            args = ", ".join(f"u_in{k}_{min(r, ntargets - 1)}" for r in range(8))
            if kind == "mm":
                fn, more = ("unpack8p" if how else "unpack8"), ""
            else:
                decl.append(f"uniform ivec2 u_gq{k};\n")
                fn, more = "unpackc", f", u_gq{k}, {how}"
            fetches.append(f"    float v{k} = {fn}({args}, {at}, u_gk{k}{more});\n")
            continue
        if k0 == k:
            decl.append(f"uniform {sampler} u_in{k};\n")
        if read == 0:
            fetches.append(f"    {t} v{k} = texelFetch(u_in{k0}, p, 0).r;\n")
        elif read == 1:
            fetches.append(f"    {t} v{k} = texelFetch(u_in{k0}, ivec3(p, u_layer), 0).r;\n")
        elif read == 2:
            fetches.append(f"    {t} v{k} = fetch(u_in{k0}, {index});\n")
        else:
            decl.append(f"uniform int u_st{k}[{MAX_RANK}];\nuniform int u_off{k};\n")
            at = " + ".join([f"u_off{k}"] + [f"c{d} * u_st{k}[{d}]"
                                             for d in range(MAX_RANK - rank, MAX_RANK)])
            fetches.append(f"    {t} v{k} = fetch(u_in{k0}, {at});\n")
    if placed:
        fetches.append(f"    int cc[6];\n    unravel({index}, cc);\n")
    for k, pl in enumerate(placed):
        t, sampler = _TYPES[is_int(pl)]
        decl.append(f"uniform {t} u_pv{k};\nuniform int u_po{k};\n"
                    + "".join(f"uniform int u_p{x}{k}[{MAX_RANK}];\n" for x in "kabns"))
        if type(pl.leaf) is Const:      # the constant where it lands: a uniform
            decl.append(f"uniform {t} u_pc{k};\n")
            read = f"u_pc{k}"
        else:
            decl.append(f"uniform {sampler} u_pin{k};\n")
            read = f"fetch(u_pin{k}, at)"
        fetches.append((_PLACED_UNIT if _unit(pl) else _PLACED).format(k=k, t=t, read=read))
    decl += [f"layout(location = {j}) out {'ivec4' if ints[j] else 'vec4'} o_color{j};\n"
             for j in range(1, len(nodes))]
    if niparams:
        decl.append(f"uniform int u_q[{niparams}];\n")
    if as_fn:
        ret = exprs[0] if ints[0] else f"stored({exprs[0]})"  # the value a texture would hold
        return ("".join(decl) + f"uniform float u_p[{max(nparams, 1)}];\n"
                f"{'int' if ints[0] else 'float'} value(int idx) {{\n" + "".join(fetches)
                + f"    return {ret};\n}}\n")
    return ("".join(decl) + f"uniform float u_p[{max(nparams, 1)}];\n"
            "void main() {\n    ivec2 p = ivec2(gl_FragCoord.xy);\n" + "".join(fetches)
            + f"    emit({exprs[0]});\n"
            + "".join(f"    o_color{j} = ivec4({e}, 0, 0, 1);\n" if ints[j] else
                      f"    o_color{j} = vec4(stored({e}), 0.0, 0.0, 1.0);\n"
                      for j, e in enumerate(exprs[1:], 1)) + "}\n")


# the GLSL value and sampler types of a float and of an int input
_TYPES = {False: ("float", "sampler2D"), True: ("int", "isampler2D")}
