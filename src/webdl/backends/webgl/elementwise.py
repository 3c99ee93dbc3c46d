"""Elementwise primitives: each op extends a lazy expression (ir.LazyBuf) instead of drawing,
and ``realize`` computes an expression -- or several of one shape, one render target each
-- in one draw of a generated shader."""
import math

from ... import dtypes
from ...ops.elementwise import Unary
from .bridge import GLBuffer
from .ir import (_LEAF, MAX_SAMPLERS, Apply, Const, LazyBuf, Leaf, Round, Where, broadcast,
                 combine, generate, new_node, samplers, template)
from .movement import view
from .shapes import bcast_strides, pad


# op_cast's codes for the target dtype (shaders/elementwise.glsl)
CAST_CODE = {"float32": 0.0, "int64": 1.0, "bool": 2.0}

# A chain is drawn as soon as it reads more than MAX_LEAVES distinct textures or holds more
# than MAX_SIZE nodes, so a generated shader stays small: each input is one sampler (WebGL2
# promises 16 per shader) and a chain broadcast into its consumer is recomputed per element.
# MAX_LEAVES was set with the lazy fusion (commit 668909d). MAX_SIZE 40 -> 64 (2026-11-28):
# a chain of small ops draws every 32 ops instead of every 20, and the bench's small op
# went from 11.0 to 9.9 us in the page (SwiftShader, best of five runs each, interleaved;
# 96 nodes: 9.7). A chain nests at most MAX_SIZE calls in the generated GLSL or WGSL
# (test_browser.py's deep chain checks both compile). A backend's ``max_leaves`` is its own
# limit (WebGL's is MAX_LEAVES; WebGPU's follows its storage buffers per kernel).
MAX_LEAVES = 8
MAX_SIZE = 64


_FN = {}    # op -> its GLSL function's name, for the ops without parameters (else None)


def node(op, kids, attrs, dtype):
    """The expression of elementwise primitive ``op`` (result dtype ``dtype``) on ``kids``."""
    is_int = dtype is dtypes.int64
    try:
        fn = _FN[op]
    except KeyError:
        fn = _FN[op] = None if op.name in ("cast", "where", "pow", "pow_scalar") or \
            issubclass(op, Unary) else "op_" + op.name
    if fn is not None:      # a binary op (most nodes): no parameters
        return new_node(Apply, (fn, kids, None, is_int))
    name = op.name
    if name == "cast":
        expr = Apply("op_cast", kids, (CAST_CODE[attrs["dtype"].name], 0.0), is_int)
    elif name == "where":
        expr = Where(kids, is_int)
    elif issubclass(op, Unary):     # the op's parameters, 0 where it has fewer than two
        if op.params:
            p = [attrs.get(n) for n in op.params] + [None, None]
            if name == "clamp":     # a missing bound is no bound
                p = [-math.inf if p[0] is None else p[0], math.inf if p[1] is None else p[1]]
            expr = Apply("op_" + name, kids, tuple(0.0 if v is None else v if is_int
                                                   else float(v) for v in p[:2]), is_int)
        else:
            expr = Apply("op_" + name, kids, (0.0, 0.0), is_int)
    else:
        expr = Apply("op_" + name, kids, None, is_int)
    if is_int and name in ("pow", "pow_scalar"):
        expr = Round(expr)  # in f32 (WebGPU) pow is exp2(log2): rounded; WebGL's int pow is exact
    return expr


def lazy(be, op, bufs, shapes, shape, dtype, attrs):
    """Run an elementwise primitive: a LazyBuf whose expression inlines the lazy inputs'
    expressions and reads the others as leaves (drawn at once past the chain limits). Its
    template (ir.combine) is made from the inputs' as the chain grows."""
    typed, ternary = be.ir_mode
    kids, tpls, leaves, size = [], [], [], 1       # leaves: the distinct buffers read
    packed = None       # the chain's Packed product (one a chain: up to eight samplers)
    for b, s in zip(bufs, shapes):
        if type(b) is LazyBuf and b.real is None:
            if b.packed is not None:
                if packed is not None and b.packed is not packed:
                    b = be.realize(b)
                else:
                    packed = b.packed
            if type(b) is LazyBuf and b.node is not None and \
                    (s == b.shape or tuple(s) == b.shape or b.numel == 1):
                # inlined; an expression broadcast into this op reads its leaves with the
                # broadcast dims' strides set to 0 (it is recomputed per element: cheaper
                # than a draw). A one-element expression inlines whatever its tensor's
                # shape (a scalar picked from a tensor, ``s[j, i]``: a (1, 1) slice
                # reshaped to ())
                if b.shape == shape or type(b.node) is Const:     # a scalar reads alike
                    kids.append(b.node)                             # in any shape
                    tpls.append(b.tpl or b.template(typed, ternary))
                else:
                    k = broadcast(b.node, b.shape, shape)
                    kids.append(k)
                    tpls.append(template(k, typed, ternary))
                if leaves:
                    for x in b.leaves:
                        if x not in leaves:      # GLBuffers compare by identity
                            leaves.append(x)
                else:
                    leaves = list(b.leaves)
                size += b.size
                continue
        if type(b) is LazyBuf and b.real is None and type(b.node) is Leaf:
            # a view read in another shape (reshaped, broadcast): in place where its
            # strides allow (movement.view), else copied first
            b, st, off = view(be, b, s, packed=True)
            lead = len(shape) - len(s)
            k = Leaf(b, tuple(pad([0] * lead + [0 if a != o else t for a, o, t in
                                                 zip(s, shape[lead:], st)], 0)), off)
        else:       # a realized buffer (the common case) read whole
            if type(b) is LazyBuf:
                b = be.realize(b)
            k = new_node(Leaf, (b, bcast_strides(s if isinstance(s, tuple) else tuple(s),
                                                  shape), 0))
        kids.append(k)     # and template(k, typed, ternary), inlined:
        tpls.append((_LEAF[bool(typed and getattr(b, "is_int", False))], (k,), (), (), ()))
        if b not in leaves:
            leaves.append(b)
        size += 1
    expr = node(op, tuple(kids), attrs, dtype)
    if packed is not None and samplers([expr]) > MAX_SAMPLERS:
        # the product read in two ways (a view of it beside it): the inputs that read it
        # realized first
        bufs = [be.realize(b) if type(b) is LazyBuf and b.packed is not None else b
                for b in bufs]
        return lazy(be, op, bufs, shapes, shape, dtype, attrs)
    out = LazyBuf(shape, expr, leaves, size, dtype is dtypes.int64,
                  combine(expr, tpls, typed, ternary), packed)
    if len(leaves) > be.max_leaves or size > MAX_SIZE:
        be.realize(out)
    return out


def realize(be, buf, *more):
    """The texture behind a buffer, computing a lazy expression now in one draw (with
    ``more`` lazy buffers of the same shape: in the same draw, one render target each, as
    far as the samplers of their inputs go)."""
    if not isinstance(buf, LazyBuf):
        return buf
    if buf.real is not None:
        return buf.real
    if buf.node is None:
        raise RuntimeError("webgl: this tensor's GPU memory was already freed")
    outs, rest = [buf], []
    for b in more:      # those whose inputs fit the samplers left; the rest in another draw
        if samplers([o.node for o in outs] + [b.node]) <= MAX_SAMPLERS:
            outs.append(b)
        else:
            rest.append(b)
    if rest:
        realize(be, *rest)
    reals = [GLBuffer(buf.numel, is_int=b.is_int) for b in outs]
    code, inputs, uniforms = generate([b.node for b in outs], buf.shape, reals[0].split,
                                      [b.is_int for b in outs],
                                      [b.template(True, True) for b in outs])
    be.draw("elementwise", (), inputs, reals[0], buf.shape, uniforms, extra=reals[1:],
            code=code)
    for b, r in zip(outs, reals):
        b.real, b.node, b.leaves, b.tpl, b.packed = r, None, (), None, None
    return reals[0]


def realize_many(be, bufs):
    """``realize`` for several buffers: the lazy ones of one shape in one draw (up to the
    render target count per draw), their shared inputs read once. Optimizers use it to
    compute their new state and the new parameter together."""
    groups = {}
    for b in bufs:
        if isinstance(b, LazyBuf) and b.real is None and b.node is not None:
            groups.setdefault((b.shape, b.is_int), []).append(b)
    for group in groups.values():
        for i in range(0, len(group), be.targets):
            be.realize(*group[i:i + be.targets])
    return [be.realize(b) for b in bufs]
