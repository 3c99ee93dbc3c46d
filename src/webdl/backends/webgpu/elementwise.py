"""Elementwise primitives on WebGPU: the same lazy fusion as WebGL (webgl/elementwise.py's
``lazy`` grows one expression per chain), realized as one generated compute kernel
(codegen.py) writing one output buffer per result of the chain's shape."""
import sys

from ..webgl.elementwise import lazy as _lazy
from ..webgl.bridge import appended
from ..webgl.ir import Apply, LazyBuf, Leaf, Round, Where
from .bridge import GPUBuffer, _source
from .codegen import generate


def lazy(be, op, bufs, shapes, shape, dtype, attrs):
    if op.name not in be.functions:
        raise NotImplementedError(f"webgpu: op '{op.name}' has no kernel yet")
    # a chain binds each buffer it reads: when inlining the inputs' chains would read more
    # than the kernel can bind, the inputs are computed first (each then one buffer)
    most = 0        # the buffers read, counted with repeats: the distinct ones only past the limit
    for b in bufs:
        most += len(b.leaves) if type(b) is LazyBuf and b.real is None and b.node is not None \
            else 1
    if most > be.max_leaves:
        reads = set()
        for b in bufs:
            if type(b) is LazyBuf and b.real is None and b.node is not None:
                reads.update(id(x) for x in b.leaves)
            else:
                reads.add(id(b))
        if len(reads) > be.max_leaves:
            bufs = [be.realize(b) for b in bufs]
    return _lazy(be, op, bufs, shapes, shape, dtype, attrs)


def realize(be, buf, *more):
    """The storage buffer behind ``buf``, computing a lazy expression now in one dispatch
    (with ``more`` lazy buffers of the same shape: in the same dispatch, one output each)."""
    if not isinstance(buf, LazyBuf):
        return buf
    if buf.real is not None:
        return buf.real
    if buf.node is None:
        raise RuntimeError("webgpu: this tensor's GPU memory was already freed")
    if not more:
        real = _epilogue(be, buf)
        if real is not None:
            return real
    outs = (buf,) + more
    if more and len({id(x) for b in outs for x in b.leaves}) + len(outs) > be.max_leaves + 1:
        return [realize(be, b) for b in outs][0]        # past the bindings: one each
    code, inputs, uniforms = generate([b.node for b in outs], buf.shape,
                                      [b.template(False, False) for b in outs])
    reals = [GPUBuffer(buf.numel) for _ in outs]
    be.dispatch("elementwise", (), inputs, reals, buf.shape, uniforms, code=code)
    for b, r in zip(outs, reals):
        b.real, b.node, b.leaves, b.tpl = r, None, (), None
    return reals[0]


def _sole_reader(buf, leaf):
    """Whether the chain of ``buf`` is all that reads ``leaf``: the references to ``leaf``
    are its Leaf tuples in the chain, its leaves list, and three of the call's (_epilogue's
    loop variable, this argument, getrefcount's). More (another tensor still reads it:
    autograd keeps a pre-activation for the backward, or user code holds the product, or a
    placed slice of the chain reads it) would then need the product run a second time."""
    tuples, stack = set(), [buf.node]
    while stack:
        x = stack.pop()
        kind = type(x)
        if kind is Leaf:
            if x.buf is leaf:
                tuples.add(id(x))
        elif kind is Round:
            stack.append(x.kid)
        elif kind is Apply or kind is Where:
            stack.extend(x.kids)
    return sys.getrefcount(leaf) - 3 == len(tuples) + 1


def _epilogue(be, buf):
    """``buf``'s chain computed in the store of the deferred dispatch (bridge.defer) of the
    buffer it reads densely (a convolution's product: its bias and activation in the same
    dispatch, no pass of their own), or None where it can't be: no such buffer, the chain
    reads it otherwise, another tensor reads it too, or past the bindings."""
    for leaf in buf.leaves:
        if type(leaf) is not GPUBuffer or leaf.pending is None or leaf.numel != buf.numel:
            continue
        reads = leaf.pending.reads     # None: a dispatch without an epilogue (a cat's copy)
        if reads is None or not _sole_reader(buf, leaf):
            return None
        got = generate([buf.node], buf.shape, [buf.template(False, False)], acc=leaf)
        if got is None or len(got[1]) + reads + 1 > be.max_bindings:
            return None
        code, inputs, uniforms = got
        real = GPUBuffer(buf.numel)     # the store calls elementwise.wgsl's op functions
        leaf.pending(real, (appended(_source("elementwise"), code), inputs, uniforms))
        buf.real, buf.node, buf.leaves, buf.tpl = real, None, (), None
        return real
    return None
