"""Resampling and rearranging images: interpolate, pixel shuffles, depth/space."""
import math

import numpy as np

from ...functions.indexing import index_select
from ...functions.shape import pad as _pad
from ...tensor import tensor
from ._utils import _along
from .pooling import _adaptive_avg_pool


# The source coordinates follow ATen's upsampling kernels (UpSample.h), in float32 as
# they compute them for float tensors; each resampled axis is a constant matrix (out, in) on
# the host, applied with one matmul, so the backward pass is the transposed matrix.
_F32 = np.float32
_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")


def _kernel_scale(insize, outsize, align_corners, scale_factor):
    """area_pixel_compute_scale: the source step per output pixel."""
    if align_corners:
        return _F32(insize - 1) / _F32(outsize - 1) if outsize > 1 else _F32(0)
    if scale_factor is not None and scale_factor > 0:
        return _F32(1.0 / scale_factor)
    return _F32(insize) / _F32(outsize)


def _source_coords(insize, outsize, align_corners, scale_factor, cubic):
    scale = _kernel_scale(insize, outsize, align_corners, scale_factor)
    dst = np.arange(outsize, dtype=_F32)
    if align_corners:
        return scale * dst
    src = scale * (dst + _F32(0.5)) - _F32(0.5)
    return src if cubic else np.maximum(src, _F32(0))


def _guard(src, insize):
    """guard_index_and_lambda: the left source index and the fraction past it."""
    idx = np.minimum(np.floor(src).astype(np.int64), insize - 1)
    lam = np.clip(src - idx.astype(_F32), _F32(0), _F32(1)).astype(_F32)
    return idx, lam


def _linear_matrix(insize, outsize, align_corners, scale_factor):
    idx, lam = _guard(_source_coords(insize, outsize, align_corners, scale_factor, False),
                      insize)
    m = np.zeros((outsize, insize), dtype=_F32)
    rows = np.arange(outsize)
    np.add.at(m, (rows, idx), _F32(1) - lam)
    np.add.at(m, (rows, np.minimum(idx + 1, insize - 1)), lam)
    return m


def _cubic_matrix(insize, outsize, align_corners, scale_factor):
    """Keys' cubic convolution with A = -0.75, source indices clamped to the border."""
    idx, t = _guard(_source_coords(insize, outsize, align_corners, scale_factor, True), insize)
    a = _F32(-0.75)

    def near(x):        # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):         # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    m = np.zeros((outsize, insize), dtype=_F32)
    rows = np.arange(outsize)
    for j, w in enumerate(weights):
        np.add.at(m, (rows, np.clip(idx - 1 + j, 0, insize - 1)), w.astype(_F32))
    return m


def _nearest_index(insize, outsize, scale_factor, exact, shortcuts):
    """The source index of every output pixel (nearest_neighbor[_exact]_compute_source_index).
    PyTorch's 2-D nearest kernel takes two shortcuts whatever the scale: an axis whose size
    is kept is copied, one whose size doubles repeats each pixel twice; its 1-D and 3-D
    kernels and nearest-exact don't."""
    if shortcuts and outsize == insize:
        return np.arange(outsize)
    if shortcuts and outsize == 2 * insize:
        return np.arange(outsize) >> 1
    scale = _F32(1.0 / scale_factor) if scale_factor is not None and scale_factor > 0 else \
        _F32(insize) / _F32(outsize)
    dst = np.arange(outsize, dtype=np.float64)
    src = (dst + 0.5) * np.float64(scale) if exact else dst * np.float64(scale)
    return np.minimum(np.floor(src.astype(_F32)).astype(np.int64), insize - 1)


def interpolate(input, size=None, scale_factor=None, mode="nearest",  # noqa: A002
                align_corners=None, recompute_scale_factor=None, antialias=False):
    """torch.nn.functional.interpolate for 3-D (N, C, L), 4-D (N, C, H, W) and 5-D
    (N, C, D, H, W) input: nearest, nearest-exact, (bi/tri)linear, bicubic and area."""
    x = input
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported "
                                  f"({', '.join(_MODES)})")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("interpolate: align_corners option can only be set with the "
                             "interpolating modes: linear | bilinear | bicubic | trilinear")
    else:
        align_corners = bool(align_corners)
    if x.ndim not in (3, 4, 5):
        raise NotImplementedError(f"interpolate: expected a 3-D (N, C, L), 4-D (N, C, H, W) or "
                                  f"5-D (N, C, D, H, W) input, got shape {tuple(x.shape)}")
    dim = x.ndim - 2
    if mode in _DIMS and _DIMS[mode] != dim:
        raise NotImplementedError(f"interpolate: got {x.ndim}D input, but {mode} mode needs "
                                  f"{_DIMS[mode] + 2}D input")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    insizes = tuple(x.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an "
                             "explicit size.")
        outsizes = tuple(int(v) for v in size) if isinstance(size, (list, tuple)) else \
            (int(size),) * dim
        if len(outsizes) != dim:
            raise ValueError(f"interpolate: input with spatial dimensions of {list(insizes)} "
                             f"and output size of {list(outsizes)} don't match")
        scales = (None,) * dim
    elif scale_factor is not None:
        scales = tuple(float(v) for v in scale_factor) \
            if isinstance(scale_factor, (list, tuple)) else (float(scale_factor),) * dim
        if len(scales) != dim:
            raise ValueError(f"interpolate: input with spatial dimensions of {list(insizes)} "
                             f"and scale_factor of {list(scales)} don't match")
        outsizes = tuple(int(math.floor(n * f)) for n, f in zip(insizes, scales))
        if recompute_scale_factor or mode == "area":
            scales = (None,) * dim
    else:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    if min(insizes) <= 0 or min(outsizes) <= 0:
        raise ValueError(f"interpolate: input and output sizes should be greater than 0, but "
                         f"got input {insizes} and output {outsizes}")
    if mode == "area":
        return _adaptive_avg_pool(x, outsizes, "interpolate")
    y = x
    for k, (n, o, f) in enumerate(zip(insizes, outsizes, scales)):
        axis = 2 + k
        if mode in ("nearest", "nearest-exact"):
            idx = _nearest_index(n, o, f, mode == "nearest-exact", mode == "nearest" and dim == 2)
            if o % n == 0 and np.array_equal(idx, np.repeat(np.arange(n), o // n)):
                if o != n:   # each element repeated: a movement, no index tensor to upload
                    s = list(y.shape)
                    y = y.unsqueeze(axis + 1).expand(*s[:axis + 1], o // n, *s[axis + 1:]) \
                        .reshape(*s[:axis], o, *s[axis + 1:])
            else:
                y = index_select(y, axis, tensor(idx, device=x.device))
        elif mode == "bicubic":
            y = _along(y, axis, _cubic_matrix(n, o, align_corners, f))
        elif n != o:        # the linear kernels copy an axis whose size is kept
            y = _along(y, axis, _linear_matrix(n, o, align_corners, f))
    return y


def upsample(input, size=None, scale_factor=None, mode="nearest",  # noqa: A002
             align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):  # noqa: A002
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):  # noqa: A002
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pad(input, pad, mode="constant", value=None):  # noqa: A002
    """torch.nn.functional.pad: value=None is 0."""
    return _pad(input, pad, mode, 0.0 if value is None else value)


def pixel_shuffle(x, upscale_factor):
    r = int(upscale_factor)
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise ValueError(f"pixel_shuffle: channels of shape {tuple(x.shape)} must be divisible "
                         f"by upscale_factor^2 = {r * r}")
    *b, c, h, w = x.shape
    y = x.reshape(-1, c // (r * r), r, r, h, w).permute(0, 1, 4, 2, 5, 3)
    return y.reshape(*b, c // (r * r), h * r, w * r)


def pixel_unshuffle(x, downscale_factor):
    r = int(downscale_factor)
    if x.ndim < 3 or x.shape[-1] % r or x.shape[-2] % r:
        raise ValueError(f"pixel_unshuffle: height and width of shape {tuple(x.shape)} must be "
                         f"divisible by downscale_factor = {r}")
    *b, c, h, w = x.shape
    y = x.reshape(-1, c, h // r, r, w // r, r).permute(0, 1, 3, 5, 2, 4)
    return y.reshape(*b, c * r * r, h // r, w // r)


def depth_to_space(x, block_size, data_format="NHWC"):
    """TensorFlow's depth_to_space (DCR order). NHWC by default, as in TensorFlow."""
    b = int(block_size)
    if x.ndim != 4:
        raise ValueError(f"depth_to_space: expected a 4-D input, got shape {tuple(x.shape)}")
    if data_format == "NCHW":
        x = x.permute(0, 2, 3, 1)
    elif data_format != "NHWC":
        raise ValueError(f"depth_to_space: data_format must be 'NHWC' or 'NCHW', got "
                         f"{data_format!r}")
    n, h, w, c = x.shape
    if c % (b * b):
        raise ValueError(f"depth_to_space: channels {c} must be divisible by block_size^2 = "
                         f"{b * b}")
    y = x.reshape(n, h, w, b, b, c // (b * b)).permute(0, 1, 3, 2, 4, 5)
    y = y.reshape(n, h * b, w * b, c // (b * b))
    return y.permute(0, 3, 1, 2) if data_format == "NCHW" else y


def space_to_depth(x, block_size, data_format="NHWC"):
    b = int(block_size)
    if data_format == "NCHW":
        x = x.permute(0, 2, 3, 1)
    n, h, w, c = x.shape
    y = x.reshape(n, h // b, b, w // b, b, c).permute(0, 1, 3, 2, 4, 5)
    y = y.reshape(n, h // b, w // b, c * b * b)
    return y.permute(0, 3, 1, 2) if data_format == "NCHW" else y
