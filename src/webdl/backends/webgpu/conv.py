"""conv2d, the fused op: the direct kernel (shaders/wgsl/conv2d.wgsl, one invocation per
output) where each output's loop is short, otherwise im2col at the buffer level -- zero
padding (unslice), unfold, one matmul, the bias added in the consumer's chain -- which
spreads a long reduction (the weight gradient's: the whole batch and image per output)
over the matmul's invocations."""
from ...ops.elementwise import BINARY
from ..webgl.conv import conv2d_direct
from . import elementwise
from .matmul import matmul
from .registry import KERNELS, register

# Taps per output (C/groups * kh * kw) up to which the direct kernel runs. Measured on
# SwiftShader, the small CNN's training step (bench "webgpu train step", medians of 7, two
# rounds in one page): all direct 240-251 ms, im2col past 1024 taps (its weight gradients,
# 8192 taps) 191-220 ms, im2col always 194 ms (WebGL 77-87 ms). The direct kernel keeps the
# forward convolutions free of the im2col buffer.
DIRECT_MAX_TAPS = 1024


@register("conv2d", shaders=("conv2d", "unfold", "matmul", "matmul_direct"))
def conv2d(be, bufs, shapes, shape, dtype, attrs):
    (n, c, h, w), (o, cg, kh, kw) = shapes[0], shapes[1]
    if attrs["groups"] != 1 or cg * kh * kw <= DIRECT_MAX_TAPS:
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
    if len(bufs) == 3:
        y = elementwise.lazy(be, BINARY["add"], [y, bufs[2]], [shape, (o, 1, 1)], shape, dtype,
                             {})
    return y
