"""Elementwise primitives on WebGPU: the same lazy fusion as WebGL (webgl/elementwise.py's
``lazy`` grows one expression per chain), realized as one generated compute kernel
(codegen.py) writing one output buffer per result of the chain's shape."""
from ..webgl.elementwise import lazy as _lazy
from ..webgl.ir import LazyBuf
from .bridge import GPUBuffer
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
