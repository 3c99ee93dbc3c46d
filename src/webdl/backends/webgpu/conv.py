"""conv2d, the fused op. On a hardware adapter (groups 1): the tiled matrix product of
matmul.wgsl with conv2d_operands.wgsl -- the weight times the image's patch matrix, gathered
from the image as each tile loads (no im2col buffer) -- or for at most FEW_MAX output
channels conv2d_few.wgsl (every channel of a position at once, its taps split over several
invocations; any number of taps). On a software adapter, or with groups:
the direct kernel (shaders/wgsl/conv2d.wgsl, one invocation per output) where each output's
loop is short. Otherwise (a long reduction per output: the weight gradient's, the whole batch
and image) im2col at the buffer level -- zero padding (unslice), unfold, one matmul -- which
spreads it over the matmul's invocations. The bias is added in the consumer's chain, and the
tiled product's dispatch is deferred (bridge.defer) so that the chain reading its output --
the bias, the activation -- runs in its store (an epilogue, elementwise.realize) instead of
a pass of its own."""
import functools
import itertools

from ...ops.elementwise import BINARY
from ..webgl.conv import conv2d_direct
from ..webgl.movement import CAT_INPUTS, cat_tree, cat_uniforms, view
from ..webgl.shapes import numel, strides
from . import elementwise
from ..webgl.bridge import appended
from .bridge import GPUBuffer, _source, defer
from .matmul import PLAIN_STORE, TILES, matmul, tile_name, tiles
from ..tuning import bucket
from .registry import KERNELS, register

# Taps per output (C/groups * kh * kw) up to which the direct kernel runs. Measured on
# SwiftShader, the small CNN's training step (bench "webgpu train step", medians of 7, two
# rounds in one page): all direct 240-251 ms, im2col past 1024 taps (its weight gradients,
# 8192 taps) 191-220 ms, im2col always 194 ms (WebGL 77-87 ms). The direct kernel keeps the
# forward convolutions free of the im2col buffer.
DIRECT_MAX_TAPS = 1024


# Taps up to which the tiled product runs on a hardware adapter (past it, im2col: see above).
MM_MAX_TAPS = 4608


def _with_bias(be, y, bufs, shape, dtype):
    if len(bufs) == 3:
        o = shape[1]
        y = elementwise.lazy(be, BINARY["add"], [y, bufs[2]], [shape, (o, 1, 1)], shape, dtype,
                             {})
    return y


# Output channels up to which a hardware adapter runs conv2d_few.wgsl (all of a position's
# channels in one invocation) rather than the tiled product. Measured on an H200 (esrgan-slim
# x2, its convolutions to 4, 12 and 3 channels): see conv2d_few.wgsl.
FEW_MAX = 16
# conv2d_few.wgsl's positions per workgroup (P; 256 / P invocations share each): 32, or
# fewer where that would leave fewer than FEW_THREADS invocations, down to 4 (64 a position,
# as a weight's gradient computed as a convolution: few positions, thousands of taps)
FEW_THREADS = 1 << 15

# what the kernel choice (backends/tuning.py) picks from on a hardware adapter: the tiled
# product in each of matmul.wgsl's workgroup shapes, the direct kernel, or conv2d_few.wgsl
# for few channels; convolutions between these sizes (multiply-adds) are the shape classes
# timed
VARIANTS = {"conv2d": (*TILES, "direct", "few")}
TUNE_MACS = (1 << 12, 1 << 30)


def _part_names(parts):
    """The bindings of an image in ``parts`` buffers: u_b, u_b1, u_b2, ..."""
    return ["u_b"] + [f"u_b{j}" for j in range(1, parts)]


@functools.lru_cache(maxsize=None)
def image_code(parts):
    """The WGSL of conv2d_operands.wgsl's ``image(o, c, at)`` for an image in ``parts``
    buffers (more than one: a deferred cat along the channels, whose parts end at the
    channels in the uniform u_cat), one string per count (see appended)."""
    names = _part_names(parts)
    code = "".join(f"var<storage, read> {n}: array<f32>;\n" for n in names)
    if parts == 1:
        return code + "fn image(o: i32, c: i32, at: i32) -> f32 { return u_b[o * u_x.x + at]; }\n"
    code += (f"var<private> u_cat: array<i32, {parts}>;\n"
             "fn image(o: i32, c: i32, at: i32) -> f32 {\n"
             "    let plane = u_x.y * u_x.z;\n"
             "    if (c < u_cat[0]) { return u_b[o * u_cat[0] + at]; }\n")
    for j in range(1, parts):
        read = f"{names[j]}[o * (u_cat[{j}] - u_cat[{j - 1}]) + at - u_cat[{j - 1}] * plane]"
        code += (f"    if (c < u_cat[{j}]) {{ return {read}; }}\n" if j < parts - 1
                 else f"    return {read};\n}}\n")
    return code


def _operands(be, bufs, shapes, shape, attrs):
    """The image's inputs (dense; the parts of a deferred cat, see cat), the weight read in
    place (rows of C*kh*kw at their stride where they are contiguous), the uniforms, the
    defines and the image's code (image_code) both kernels below share
    (conv2d_operands.wgsl's)."""
    (n, c, h, w), (o, _, kh, kw) = shapes[0], shapes[1]
    wt, wst, woff = view(be, bufs[1], shapes[1])
    if list(wst[1:]) != strides(shapes[1])[1:]:               # rows of C*kh*kw read in place
        wt, wst, woff = be.realize(bufs[1]), strides(shapes[1]), 0
    inputs = {"u_a": wt}
    uniforms = {
        "u_x": [c, h, w, shape[3]], "u_stride": list(attrs["stride"]),
        "u_dil": list(attrs["dilation"]), "u_pad": [attrs["pads"][0], attrs["pads"][2]],
        "u_w_row": wst[0], "u_a_off": woff}
    pending = getattr(bufs[0], "pending", None)
    if type(pending) is DeferredCat:
        parts = pending.parts
        uniforms["u_cat"] = list(itertools.accumulate(pending.channels))
    else:
        parts = [be.realize(bufs[0])]
    inputs.update(zip(_part_names(len(parts)), parts))
    return inputs, uniforms, (("KH", kh), ("KW", kw)), image_code(len(parts))


def conv2d_mm(be, bufs, shapes, shape, dtype, attrs, tile=None):
    """groups 1 on a hardware adapter: matmul.wgsl + conv2d_operands.wgsl, in workgroup
    shape ``tile`` (None: the built-in one for its output channels)."""
    (n, c, h, w), (o, _, kh, kw) = shapes[0], shapes[1]
    inputs, uniforms, more, image = _operands(be, bufs, shapes, shape, attrs)
    ho, wo = shape[2], shape[3]
    uniforms["u_nkm"] = [o, c * kh * kw, ho * wo]
    defines, tm, tn = tiles(tile or tile_name(o, be.flat_tiles))
    # CONV: unused by the WGSL, it names the program apart from matmul's (profiles)
    defines += (("CONV", 1),) + more
    groups = (-(-(ho * wo) // tn), -(-o // tm), n)
    return _deferred(be, bufs, shape, dtype, "matmul", defines, inputs, uniforms, groups,
                     image)


def conv2d_few(be, bufs, shapes, shape, dtype, attrs):
    """groups 1, at most FEW_MAX output channels, on a hardware adapter: conv2d_few.wgsl
    + conv2d_operands.wgsl."""
    (n, c, _, _), (o, _, kh, kw) = shapes[0], shapes[1]
    inputs, uniforms, more, image = _operands(be, bufs, shapes, shape, attrs)
    positions, k = n * shape[2] * shape[3], c * kh * kw
    uniforms["u_y"] = [o, k, shape[2] * shape[3], positions]
    p = 32
    while p > 4 and positions * (256 // p) < FEW_THREADS and k >= 16 * (256 // p):
        p //= 2
    return _deferred(be, bufs, shape, dtype, "conv2d_few",
                     (("OC", -(-o // 4) * 4), ("P", p)) + more, inputs, uniforms,
                     (-(-positions // p), 1, 1), image)


def _deferred(be, bufs, shape, dtype, kernel, defines, inputs, uniforms, groups, image):
    """The convolution's dispatch of ``kernel`` (with conv2d_operands.wgsl, the image's code
    and a store: matmul.wgsl's contract) deferred for the chain that reads its output
    (conv_epilogue), and the bias added in that chain."""
    out = GPUBuffer(numel(shape))
    run = DeferredConv(be, kernel, defines, inputs, shape, uniforms, groups,
                       appended(_source("conv2d_operands"), image))
    if be.conv_epilogue:
        defer(out, run)
    else:
        run(out)
    return _with_bias(be, out, bufs, shape, dtype)


class DeferredConv:
    """A convolution's dispatch (bridge.defer): ``self(target, epilogue)`` queues it, the
    product stored into ``target`` through the epilogue's chain (elementwise._epilogue);
    ``reads``: the buffers it binds besides that chain's and its output."""
    __slots__ = ("be", "kernel", "defines", "inputs", "shape", "uniforms", "groups", "code")

    def __init__(self, be, kernel, defines, inputs, shape, uniforms, groups, code):
        self.be, self.kernel, self.defines, self.inputs = be, kernel, defines, inputs
        self.shape, self.uniforms, self.groups, self.code = shape, uniforms, groups, code

    @property
    def reads(self):
        return len(self.inputs)

    def __call__(self, target, epilogue=None):
        code, more_inputs, more = epilogue or (PLAIN_STORE, {}, {})
        self.be.dispatch(self.kernel, self.defines, {**self.inputs, **more_inputs}, [target],
                         self.shape, {**self.uniforms, **more}, code=appended(self.code, code),
                         groups=self.groups)


class DeferredCat:
    """The dispatch of a cat of images along the channels, deferred (bridge.defer) with its
    ``parts`` and their ``channels`` noted: a convolution reading the cat gathers from the
    parts itself (_operands), so the copy runs only if something else reads it (it takes no
    epilogue: ``reads`` None)."""
    __slots__ = ("be", "parts", "channels", "shape", "dtype")
    reads = None

    def __init__(self, be, parts, channels, shape, dtype):
        self.be, self.parts, self.channels, self.shape, self.dtype = \
            be, parts, channels, shape, dtype

    def __call__(self, target):
        parts, channels = _fewer(self.be, self.parts, self.channels, self.shape, self.dtype,
                                 CAT_INPUTS)             # cat.wgsl reads at most CAT_INPUTS
        shapes = [(1, c) for c in channels]       # what cat_uniforms reads: the axis
        self.be.dispatch("cat", (("N", len(parts)),),
                         {f"u_in{j}": p for j, p in enumerate(parts)}, [target],
                         self.shape, cat_uniforms(shapes, 1, self.shape))


def _fewer(be, parts, channels, shape, dtype, most):
    """A cat's ``parts`` (images of ``channels`` channels; ``shape``, the cat's) as at most
    ``most`` parts: the first ones concatenated into one (cat_tree) where there are more."""
    if len(parts) <= most:
        return list(parts), tuple(channels)
    k = len(parts) - most + 1
    head = (shape[0], sum(channels[:k]), *shape[2:])
    first = cat_tree(be, parts[:k], [(shape[0], c, *shape[2:]) for c in channels[:k]], head,
                     dtype, {"axis": 1})
    return [first, *parts[k:]], (head[1], *channels[k:])


def cat_parts(be):
    """The most parts a convolution reads a cat in: a kernel's bindings less the weight, one
    input of its epilogue (the bias) and its output."""
    return be.max_bindings - 3


@register("cat", shaders=("cat",))
def cat(be, bufs, shapes, shape, dtype, attrs):
    """cat (webgl/movement.py's passes); of images along the channels on a hardware adapter
    (``be.cat_defer``), a DeferredCat, which a convolution reads without it; where there
    are more parts than it reads (cat_parts), the first ones are concatenated first."""
    if len(bufs) < 2 or len(shape) != 4 or attrs["axis"] != 1 or not be.cat_defer or \
            not be.conv_tiled or any(s[1] == 0 for s in shapes):
        return cat_tree(be, bufs, shapes, shape, dtype, attrs)
    parts, channels = _fewer(be, bufs, [s[1] for s in shapes], shape, dtype, cat_parts(be))
    out = GPUBuffer(numel(shape))
    defer(out, DeferredCat(be, [be.realize(b) for b in parts], channels, tuple(shape), dtype))
    return out


@register("conv2d", shaders=("conv2d", "unfold", "matmul", "matmul_operands", "matmul_direct",
                             "conv2d_operands", "conv2d_few"))
def conv2d(be, bufs, shapes, shape, dtype, attrs):
    (n, c, h, w), (o, cg, kh, kw) = shapes[0], shapes[1]
    taps = cg * kh * kw
    direct = attrs["groups"] != 1 or taps <= DIRECT_MAX_TAPS
    if attrs["groups"] == 1 and taps <= MM_MAX_TAPS and (be.conv_tiled or direct) and \
            n <= be.info.get("maxWorkgroups", 65535):
        def run(v):
            if v == "direct":
                return conv2d_direct(be, bufs, shapes, shape, dtype, attrs)
            if v == "few":
                return conv2d_few(be, bufs, shapes, shape, dtype, attrs)
            return conv2d_mm(be, bufs, shapes, shape, dtype, attrs, v)
        macs, hw = numel(shape) * taps, shape[2] * shape[3]
        few = o <= FEW_MAX
        default = "direct" if not be.conv_tiled else \
            "few" if few and be.conv_few else tile_name(o, be.flat_tiles)
        v = be.kernels.choose(
            "conv2d", f"{bucket(o, 2)}.{bucket(taps, 2)}.{bucket(hw, 2)}.{int(n > 1)}",
            tuple(TILES) + (("direct",) if direct else ()) + (("few",) if few else ()),
            default, run, be.sync, TUNE_MACS[0] < macs <= TUNE_MACS[1] and not be.recording())
        return run(v)
    if attrs["groups"] == 1 and o <= FEW_MAX and be.conv_tiled and be.conv_few:
        # few channels, a long sum an output (a weight's gradient over a whole batch and
        # image): conv2d_few with up to 64 invocations a position, rather than im2col and
        # a product of a few rows and columns whose workgroups loop over all the taps
        return conv2d_few(be, bufs, shapes, shape, dtype, attrs)
    if direct:
        return conv2d_direct(be, bufs, shapes, shape, dtype, attrs)
    t, b, l, r = attrs["pads"]
    x, xs = bufs[0], tuple(shapes[0])
    if t or b or l or r:
        ps = (n, c, h + t + b, w + l + r)
        x = KERNELS["unslice"].run(be, [x], [xs], ps, dtype, {
            "starts": (0, 0, t, l), "steps": (1, 1, 1, 1), "shape": ps, "value": 0.0})
        xs = ps
    cols_shape = (n, c * kh * kw, shape[2] * shape[3])
    cols = KERNELS["unfold"].run(be, [be.realize(x)], [xs], cols_shape, dtype, {
        "kernel": (kh, kw), "dilation": attrs["dilation"], "stride": attrs["stride"]})
    y = matmul(be, [bufs[1], cols], [(o, c * kh * kw), cols_shape], (n, o, cols_shape[2]),
               dtype, {})
    return _with_bias(be, y, bufs, shape, dtype)
