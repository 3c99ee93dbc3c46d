"""Attention's fused ops (webdl/ops/attention.py) as shaders/wgsl/attention.wgsl: one
dispatch forward (a workgroup per query row: scores, softmax and the weighted sum of values
in workgroup memory) and two backward (a workgroup per query row: the query's gradient and
the rows' statistics; then one per key row: the key's and value's gradients), in place of
two products and a softmax forward and six passes backward. Inputs are read through their
strides (a head split by view and transpose is not copied)."""
from ..webgl.movement import view
from ..webgl.shapes import numel
from .bridge import GPUBuffer
from .registry import register

MAX_LEAD = 4        # attention.wgsl's leading (batch) dims
PASSES = {"attention": 0, "attention_grad_q": 1, "attention_grad_kv": 2}
OPS = frozenset(PASSES)


def _strides(shape, st):
    """attention.wgsl's 6 strides of an input: 4 leading (padded in front), row, column."""
    lead = list(st[:-2])
    return [0] * (MAX_LEAD - len(lead)) + lead + list(st[-2:])


def _run(be, bufs, shapes, shape, attrs, name):
    q, k, v = shapes[:3] if name == "attention" else shapes[1:4]
    lead = list(q[:-2])
    if len(lead) > MAX_LEAD:
        raise NotImplementedError(f"webgpu: {name} with more than {MAX_LEAD} leading dims "
                                  f"(query {tuple(q)})")
    out = GPUBuffer(numel(shape))
    if not out.numel:
        return out
    # inputs in attention.wgsl's order: q, k, v, g, x (x: the output o, or the rows' stats)
    order = (0, 1, 2, 0, 0) if name == "attention" else (1, 2, 3, 0, 4)
    names = ("u_q", "u_k", "u_v", "u_g", "u_x")
    inputs, uniforms, offs = {}, {}, []
    for nm, j in zip(names, order):
        buf, st, off = view(be, bufs[j], shapes[j])
        inputs[nm] = buf
        uniforms[nm + "_st"] = _strides(shapes[j], st)
        offs.append(off)
    rows = numel(lead) * (k[-2] if name == "attention_grad_kv" else q[-2])
    uniforms.update({"u_batch": [1] * (MAX_LEAD - len(lead)) + lead, "u_ls": [q[-2], k[-2]],
                     "u_ed": [q[-1], v[-1]], "u_rows": rows, "u_scale": float(attrs["scale"]),
                     "u_offs": offs})
    be.dispatch("attention", (("PASS", PASSES[name]), ("CAUSAL", int(bool(attrs["causal"])))),
                inputs, [out], shape, uniforms, groups=(rows, 1, 1))
    return out


for _name in PASSES:
    register(_name, shaders=("attention",), lazy_inputs=True)(
        (lambda n: lambda be, bufs, shapes, shape, dtype, attrs: _run(be, bufs, shapes, shape,
                                                                       attrs, n))(_name))
