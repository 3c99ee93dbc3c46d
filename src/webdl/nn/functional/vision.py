"""Resampling and rearranging images: interpolate, pixel shuffles, depth/space."""
import math
import numbers

import numpy as np

from ...functions.indexing import index_select
from ...functions.linalg import matmul
from ...functions.shape import pad  # noqa: F401
from ...tensor import tensor
from ._utils import _pair, _need4d, _out


def _src_scale(insize, outsize, align_corners, scale_factor):
    if align_corners:
        return (insize - 1) / (outsize - 1) if outsize > 1 else 0.0
    if scale_factor is not None:
        return 1.0 / scale_factor
    return insize / outsize


def _linear_matrix(insize, outsize, align_corners, scale_factor):
    scale = _src_scale(insize, outsize, align_corners, scale_factor)
    m = np.zeros((outsize, insize), dtype=np.float32)
    for o in range(outsize):
        src = o * scale if align_corners else max((o + 0.5) * scale - 0.5, 0.0)
        i0 = min(int(math.floor(src)), insize - 1)
        i1 = min(i0 + 1, insize - 1)
        l1 = np.float32(src - i0)
        m[o, i0] += np.float32(1.0) - l1
        m[o, i1] += l1
    return m


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None):
    x, unb = _need4d("interpolate", x)
    h, w = x.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        oh, ow = _pair(size, "size", "interpolate")
        sf = (None, None)
    else:
        sf = (scale_factor, scale_factor) if isinstance(scale_factor, numbers.Real) else \
            tuple(scale_factor)
        oh, ow = int(math.floor(h * sf[0])), int(math.floor(w * sf[1]))
        if recompute_scale_factor:
            sf = (None, None)
    if oh <= 0 or ow <= 0:
        raise ValueError(f"interpolate: output size {(oh, ow)} must be positive")
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError("interpolate: align_corners only goes with linear modes")
        y = x
        for axis, (insize, outsize, f) in ((2, (h, oh, sf[0])), (3, (w, ow, sf[1]))):
            if insize == outsize:
                continue
            scale = 1.0 / f if f is not None else insize / outsize
            idx = np.minimum(np.floor(np.arange(outsize, dtype=np.float32) * np.float32(scale)),
                             insize - 1).astype(np.int64)
            y = index_select(y, axis, tensor(idx, device=x.device))
        return _out(y, unb)
    if mode == "bilinear":
        ac = bool(align_corners)
        mh = tensor(_linear_matrix(h, oh, ac, sf[0]), device=x.device)
        mw = tensor(_linear_matrix(w, ow, ac, sf[1]).T.copy(), device=x.device)
        return _out(matmul(mh, matmul(x, mw)), unb)
    raise NotImplementedError(f"interpolate: mode {mode!r} is not supported (nearest, bilinear)")


def upsample(x, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(x, size, scale_factor, mode, align_corners)


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
