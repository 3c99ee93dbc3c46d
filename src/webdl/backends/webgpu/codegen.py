"""WGSL for a fused elementwise chain: the expressions of the lazy IR (webgl/ir.py, shared
by both GPU backends) turned into the main() of one compute kernel, appended to
shaders/wgsl/elementwise.wgsl, whose op_<name> functions it calls."""
from ..webgl.bridge import num
from .bridge import MAIN_HEAD
from ..webgl.ir import Const, dense_strides, expressions, merged_dims, placed_uniforms, walk
from ..webgl.shapes import MAX_RANK, pad

_A6 = f"array<i32, {MAX_RANK}>"

# A Placed node (an unslice inlined into the chain): its input where the output coordinate
# lands on start + i * step in every dim, its value elsewhere (as webgl/ir.py's _PLACED).
_PLACED = """    var w{k} = u_pv{k};
    {{
        var in_{k} = true;
        var at = u_po{k};
        for (var d = 0; d < 6; d++) {{
            let r = cc[d] * u_pk{k}[d] - u_pa{k}[d];
            if (r < 0 || r % u_pb{k}[d] != 0 || r / u_pb{k}[d] >= u_pn{k}[d]) {{ in_{k} = false; }}
            at += (r / u_pb{k}[d]) * u_ps{k}[d];
        }}
        if (in_{k}) {{ w{k} = {read}; }}
    }}
"""


def generate(nodes, shape, tpls=None, acc=None, value=False):
    """The kernel computing expressions ``nodes`` over ``shape``, the first into out0, the
    others into out1, ...: (WGSL code, {input name: buffer}, {uniform: value}). Inputs
    dense in the output's shape are read at the output's index; the others at the
    coordinates of the index over the merged dims (one division pair per merged dim). The
    code depends on the structure, on which inputs are dense and on the merged rank;
    constants, dims, strides and offsets are uniforms. The code is written once per such
    key (``_code``); each call computes only the bindings and uniforms. With ``acc`` (a
    buffer): instead of a main(), matmul.wgsl's ``store(i, acc)`` computing the first
    expression with that buffer's value given -- or None where it can't be: the expression
    must read ``acc`` once, dense in the output's shape (at the index the kernel writes), and
    not through a placed slice. With ``value`` ("dense" or "strided"): instead of a main(),
    ``value_at(i)``, the first expression at position i (for a reduction reading the chain where
    it reads it: see reduce.wgsl), or None where a placed slice reads it (it unravels over
    the output's shape), or an input is read strided and ``value`` is "dense"."""
    key, slots, params, _, placed = walk(nodes, False, False, None, tpls)
    if acc is not None and not _reads_once_dense(slots, placed, shape, acc):
        return None
    dense, strided, dims = merged_dims(slots, shape)
    if value and (placed or (strided and value != "strided")):
        return None
    rank = len(dims) if strided else 0
    inputs, uniforms = {}, {}
    if rank:
        uniforms["u_dims"] = pad([d[0] for d in dims])
    names = {}      # one binding per distinct buffer (a buffer read two ways binds once)
    reads = []      # per slot: its binding, and whether it is read strided
    j = 0
    for k, leaf in slots.values():
        if acc is not None and leaf.buf is acc:
            reads.append(None)
            if leaf.strides != dense or leaf.offset:    # counted strided by merged_dims
                j += 1                                  # (its size-1 dims' strides differ)
            continue
        b = names.get(id(leaf.buf))
        if b is None:
            b = names[id(leaf.buf)] = len(names)
            inputs[_IN[b]] = leaf.buf
        if leaf.strides == dense and not leaf.offset:
            reads.append(b)
            continue
        reads.append(-1 - b)
        uniforms[_ST[k]] = pad([dd[1][j] for dd in dims], 0)
        uniforms[_OFF[k]] = leaf.offset
        j += 1
    for k, pl in enumerate(placed):
        uniforms.update(placed_uniforms(k, pl, num))
        if type(pl.leaf) is Const:      # a constant placed: no binding ("c")
            reads.append("c")
            continue
        b = names.get(id(pl.leaf.buf))
        if b is None:
            b = names[id(pl.leaf.buf)] = len(names)
            inputs[_IN[b]] = pl.leaf.buf
        reads.append(b)
    if params:
        uniforms["u_p"] = params
    ck = (key, tuple(reads), rank, value)
    code = _CODE.get(ck)
    if code is None:
        code = _CODE[ck] = _code(nodes, shape, reads, rank, len(slots), len(placed),
                                 len(params), value)
    return code, inputs, uniforms


def _reads_once_dense(slots, placed, shape, buf):
    """Whether ``buf`` is one slot of ``slots``, read dense in ``shape``, and no Placed's."""
    mine = [leaf for _, leaf in slots.values() if leaf.buf is buf]
    if len(mine) != 1 or mine[0].offset or any(getattr(p.leaf, "buf", None) is buf
                                                for p in placed):
        return False
    return all(d == 1 or a == b           # a dim of size 1: any stride reads it alike
               for d, a, b in zip(pad(shape), mine[0].strides, dense_strides(shape)))


_CODE = {}      # (structure key, bindings and reads, merged rank) -> WGSL
_IN = [f"u_in{k}" for k in range(1024)]
_ST = [f"u_st{k}" for k in range(1024)]
_OFF = [f"u_off{k}" for k in range(1024)]


def _code(nodes, shape, reads, rank, nslots, nplaced, nparams, value=False):
    """generate's WGSL for one key (see there); ``reads``: per slot its binding b when read
    at the output's index, -1 - b when strided; then per Placed node its binding ("c" for a
    constant placed)."""
    exprs = expressions(nodes, ternary=False)[0]
    decl, body = [], []
    if rank:
        decl.append(f"var<private> u_dims: {_A6};\n")
        body.append("    var r = i;\n")
        for d in range(MAX_RANK - 1, MAX_RANK - rank, -1):
            body.append(f"    let c{d} = r % u_dims[{d}];\n    r = r / u_dims[{d}];\n")
        body.append(f"    let c{MAX_RANK - rank} = r;\n")
    bound = set()

    def bind(b):
        if b not in bound:
            bound.add(b)
            decl.append(f"var<storage, read> u_in{b}: array<f32>;\n")
        return f"u_in{b}"
    for k in range(nslots):
        read = reads[k]
        if read is None:                    # the value the kernel stores (an epilogue)
            body.append(f"    let v{k} = acc;\n")
            continue
        if read >= 0:
            body.append(f"    let v{k} = {bind(read)}[i];\n")
            continue
        src = bind(-1 - read)
        decl.append(f"var<private> u_st{k}: {_A6};\nvar<private> u_off{k}: i32;\n")
        at = " + ".join([f"u_off{k}"] + [f"c{d} * u_st{k}[{d}]"
                                         for d in range(MAX_RANK - rank, MAX_RANK)])
        body.append(f"    let v{k} = {src}[{at}];\n")
    if nplaced:
        body.append("    let cc = unravel(i);\n")
    for k in range(nplaced):
        decl.append(f"var<private> u_pv{k}: f32;\n"
                    f"var<private> u_po{k}: i32;\n"
                    + "".join(f"var<private> u_p{x}{k}: {_A6};\n" for x in "kabns"))
        if reads[nslots + k] == "c":    # a constant where it lands: a uniform
            decl.append(f"var<private> u_pc{k}: f32;\n")
            read = f"u_pc{k}"
        else:
            read = f"{bind(reads[nslots + k])}[at]"
        body.append(_PLACED.format(k=k, read=read))
    if nparams:
        decl.append(f"var<private> u_p: array<f32, {nparams}>;\n")
    if None in reads:
        return ("".join(decl) + "fn store(i: i32, acc: f32) -> f32 {\n" + "".join(body)
                + f"    return {exprs[0]};\n}}\n")
    if value:
        return ("".join(decl) + "fn value_at(i: i32) -> f32 {\n" + "".join(body)
                + f"    return {exprs[0]};\n}}\n")
    return ("".join(decl) + MAIN_HEAD + "".join(body)
            + "".join(f"    out{j}[i] = {e};\n" for j, e in enumerate(exprs)) + "}\n")
