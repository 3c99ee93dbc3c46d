"""Convolution kernels: conv2d, the fused op (the packed kernel of shaders/conv2d_packed.glsl
for groups == 1 where its textures fit, else the direct shaders/conv2d.glsl), and the
primitives unfold and fold."""
from .bridge import MAX_TARGETS, GLBuffer, targets
from .ir import LazyBuf, Leaf, dense_strides, packed_result
from . import reduce
from .movement import view
from .registry import register
from .shapes import numel
from ..tuning import bucket

# Kernels of at most this many taps (7x7) have KH and KW compiled in, so the tap loops
# unroll. Larger ones come from the weight gradient, a convolution whose kernel is the
# output gradient (image-sized): they loop over uniforms, one program for every size,
# instead of a long unrolled program compiled per image size (commit 1de02e0).
UNROLL_MAX_TAPS = 49

# Convolutions between these sizes (multiply-adds) are the shape classes whose kernel is
# chosen by measurement on a hardware renderer (backends/tuning.py): the packed kernel with
# 2, 4 or 8 output columns per fragment (one render target each) or the direct kernel.
TUNE_MACS = (1 << 12, 1 << 27)
VARIANTS = {"conv2d": ("direct", "packed2", "packed4", "packed8")}

# On a hardware renderer (``conv_split``) a convolution of at most SPLIT_MAX_OUT outputs
# summing at least SPLIT_MIN_TAPS products each -- a weight's gradient over a batch and
# image -- sums its channels in up to SPLIT_MAX slices of about SPLIT_TAPS products, one
# fragment a slice and output, then adds the slices (on the H200 one fragment per output
# left a small CNN's first weight gradient, 8192 products each, to 72 fragments)
SPLIT_MIN_TAPS, SPLIT_MAX_OUT, SPLIT_TAPS, SPLIT_MAX = 2048, 1 << 16, 512, 64


@register("conv2d", shaders=("conv2d", "conv2d_packed"), lazy_inputs=True)
def conv2d(be, bufs, shapes, shape, dtype, attrs):
    if numel(shape) == 0:
        return GLBuffer(0)
    n, c, h, w = shapes[0]
    o, cg, kh, kw = shapes[1]
    pads = attrs["pads"]
    geometry = {"u_kernel": [kh, kw], "u_stride": list(attrs["stride"]),
                "u_dil": list(attrs["dilation"]), "u_pad": [pads[0], pads[2]]}
    c4, o4 = -(-c // 4), -(-o // 4)
    _, _, ho, wo = shape
    if attrs["groups"] != 1:
        return conv2d_direct(be, bufs, shapes, shape, dtype, attrs)
    if be.conv_split and len(bufs) == 2 and cg * kh * kw >= SPLIT_MIN_TAPS and \
            numel(shape) <= SPLIT_MAX_OUT:
        # a long sum an output over few outputs (a weight's gradient: the batch and image
        # summed for each tap): the channels in slices, each slice's sums a fragment of its
        # own (conv2d.glsl's u_split), then the slices added
        per = -(-cg // min(SPLIT_MAX, -(-cg * kh * kw // SPLIT_TAPS)))
        parts = -(-cg // per)
        out = conv2d_direct(be, bufs, shapes, (parts,) + tuple(shape), dtype, attrs, per)
        return reduce.reduce(be, "SUM", [out], (parts,) + tuple(shape), shape, [0], dtype)
    xdims, ydims = (c, h, w, c4), (o, ho, wo, o4)

    def run(v):
        if v == "direct":
            return conv2d_direct(be, bufs, shapes, shape, dtype, attrs)
        return conv2d_packed(be, bufs, shape, geometry, xdims, ydims, int(v[6:]))
    cols = default_cols(be, wo)
    choice = f"packed{cols}" if _plan(be, shape, geometry, xdims, ydims, cols) else "direct"
    macs = n * o * ho * wo * c * kh * kw
    variants = ("direct",) + tuple(
        f"packed{q}" for q in (2, 4, 8) if q <= be.targets and (q == 2 or wo > q // 2)
        and _plan(be, shape, geometry, xdims, ydims, q))
    taps = kh * kw if kh * kw <= UNROLL_MAX_TAPS else "n"
    choice = be.kernels.choose(
        "conv2d", f"{bucket(macs)}t{taps}s{max(attrs['stride'])}w{bucket(wo)}", variants,
        choice, run, be.sync, TUNE_MACS[0] < macs <= TUNE_MACS[1] and not be.recording())
    return run(choice)


def conv2d_direct(be, bufs, shapes, shape, dtype, attrs, split=None):
    """shaders/conv2d.glsl, one fragment per output (any groups); the WebGPU backend runs
    its WGSL port with the same uniforms. ``split``: channels a slice, ``shape`` then with
    the slices first (WebGL only; see conv2d)."""
    n, c, h, w = shapes[0]
    o, cg, kh, kw = shapes[1]
    pads = attrs["pads"]
    inputs = {"u_a": bufs[0], "u_b": bufs[1]}
    if len(bufs) == 3:
        inputs["u_c"] = bufs[2]
    return be.new(shape, "conv2d", (), inputs,
                  {"u_bias": int(len(bufs) == 3), "u_x": [c, h, w, cg],
                   "u_og": o // attrs["groups"], "u_kernel": [kh, kw], "u_split": split or cg,
                   "u_stride": list(attrs["stride"]), "u_dil": list(attrs["dilation"]),
                   "u_pad": [pads[0], pads[2]]})


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


def default_cols(be, wo):
    """The packed kernel's output columns per fragment, built in: as many as the targets
    allow, fewer for narrow outputs."""
    return 2 if wo <= 2 else (4 if wo <= 4 or be.targets < MAX_TARGETS else 8)


def _plan(be, shape, geometry, xdims, ydims, cols):
    """The packed kernel's layout for ``cols`` output columns a fragment: (columns per
    fragment, padded image height and width, x's and y's texture blocks; see _blocks), or
    None where a texture would exceed the GPU's limit."""
    n = shape[0]
    c, h, w, c4 = xdims
    o, ho, wo, o4 = ydims
    (kh, kw), (sh, sw), (dh, dw) = geometry["u_kernel"], geometry["u_stride"], \
        geometry["u_dil"]
    wq = -(-wo // cols)
    # the padded image covers every tap of every column computed (the last fragment's
    # columns past Wo included)
    hp, wp = (ho - 1) * sh + (kh - 1) * dh + 1, (wq * cols - 1) * sw + (kw - 1) * dw + 1
    limit = be.info["maxTextureSize"]
    xblk = _blocks(wp, n * c4 * hp, limit)
    yblk = _blocks(wq, n * o4 * ho, limit)
    if not xblk or not yblk or max(kh * kw * c4, o4 * 4) > limit:
        return None
    return wq, hp, wp, xblk, yblk


def conv2d_packed(be, bufs, shape, geometry, xdims, ydims, cols=None):
    """groups == 1: pack x (zero-padded) and the weights 4 channels to an RGBA texel,
    convolve producing COLS output columns of 4 output channels per fragment (one column
    per render target; see shaders/conv2d_packed.glsl), left there as an ir.Packed leaf;
    None when a texture would exceed the GPU's limit. An input that is such a leaf itself
    (the previous convolution's output) is packed straight from its targets. ``xdims``,
    ``ydims``: (channels, height, width, channel texels) of input and output."""
    n = shape[0]
    c, h, w, c4 = xdims
    o, ho, wo, o4 = ydims
    kh, kw = geometry["u_kernel"]
    cols = cols or default_cols(be, wo)
    plan = _plan(be, shape, geometry, xdims, ydims, cols)
    if plan is None:
        return None
    wq, hp, wp, xblk, yblk = plan
    u = {"u_x": list(xdims), "u_xp": [hp, wp, xblk[2], n], "u_y": list(ydims),
         "u_yq": [wq, yblk[2]], **geometry}
    k, cdef = "conv2d_packed", ("COLS", cols)
    src = _packed_output(bufs[0], (n, c, h, w))
    if src is not None:     # a convolution's output still in its targets: 4 channels a texel
        xp = be.new(shape, k, (("PACK_X", 1), ("FROM", 1)),
                    {f"u_t{j}": t for j, t in enumerate(src.eight())},
                    {**u, "u_src": [*src.geo[4:], len(src.targets)]}, packed=xblk[:2])
    else:
        x, xst, xoff = view(be, bufs[0], (n, c, h, w))   # views read in place
        xp = be.new(shape, k, (("PACK_X", 1),), {"u_a": x},
                    {**u, "u_st": xst, "u_off": xoff}, packed=xblk[:2])
    wt, wst, woff = view(be, bufs[1], (o, c, kh, kw))
    wk = be.new(shape, k, (("PACK_W", 1),), {"u_b": wt},
                {**u, "u_st": wst, "u_off": woff}, packed=(c4 * kh * kw, o4 * 4))
    inputs = {"u_a": xp, "u_b": wk}
    if len(bufs) == 3:
        inputs["u_c"] = bufs[2]
    # compiled in: the kernel size of small kernels, and whether packed x is one block
    # (no wrapped rows: the tap loop then skips the division into blocks)
    conv = (("CONV", 1), cdef) + \
        ((("KH", kh), ("KW", kw)) if kh * kw <= UNROLL_MAX_TAPS else ()) + \
        ((("ONE_BLOCK_X", 1),) if xblk[1] == xblk[2] and xblk[0] == wp else ())
    outs = targets(cols, yblk[:2])
    be.draw(k, conv, inputs, outs[0], shape, {**u, "u_bias": int(len(bufs) == 3)},
            extra=outs[1:])
    # left in the targets: a lazy leaf that the next convolution packs from and an
    # elementwise chain reads in place (copied out when another kernel needs it)
    return packed_result(outs, "conv", (o, ho, wo, o4, wq, yblk[2]), shape)


def _packed_output(buf, shape):
    """The Packed convolution output that ``buf`` is, read whole as ``shape`` (N, C, H,
    W), or None."""
    src = buf.packed if isinstance(buf, LazyBuf) else None
    if src is None or src.kind != "conv" or type(buf.node) is not Leaf:
        return None
    leaf = buf.node
    if leaf.offset or leaf.strides != dense_strides(buf.shape) or buf.numel != numel(shape):
        return None
    return src if src.geo[:3] == tuple(shape[1:]) else None


@register("unfold", shaders=("unfold",))
def unfold(be, bufs, shapes, shape, dtype, attrs):
    n, c, h, w = shapes[0]
    kh, kw = attrs["kernel"]
    wo = (w - attrs["dilation"][1] * (kw - 1) - 1) // attrs["stride"][1] + 1
    return be.new(shape, "unfold", (), {"u_a": bufs[0]},
                  {"u_x": [c, h, w, wo], "u_kernel": list(attrs["kernel"]),
                   "u_dil": list(attrs["dilation"]), "u_stride": list(attrs["stride"])})


@register("fold", shaders=("fold",))
def fold(be, bufs, shapes, shape, dtype, attrs):
    (kh, kw), (dh, dw), (sh, sw) = attrs["kernel"], attrs["dilation"], attrs["stride"]
    h, w = attrs["size"]
    ho, wo = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
    return be.new(shape, "fold", (), {"u_a": bufs[0]},
                  {"u_out": [ho, wo], "u_kernel": [kh, kw], "u_dil": [dh, dw],
                   "u_stride": [sh, sw]})
