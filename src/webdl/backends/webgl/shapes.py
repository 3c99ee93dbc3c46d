"""Shapes as the shaders take them: padded to MAX_RANK dims, row-major strides, and the
strides of an operand broadcast into a result (0 along the broadcast dims)."""
import functools
import math

# Shapes and strides travel as int[6] uniforms (common.glsl's u_shape, the kernels' strides).
MAX_RANK = 6


def numel(shape):
    return math.prod(shape)


def pad(shape, fill=1):
    """``shape`` (or strides, with ``fill=0``) as MAX_RANK values, padded on the left."""
    shape = list(shape)
    if len(shape) > MAX_RANK:
        raise NotImplementedError(f"webgl: tensors of more than {MAX_RANK} dims are not "
                                  f"supported yet (shape {tuple(shape)})")
    return [fill] * (MAX_RANK - len(shape)) + shape


def strides(shape):
    """Row-major strides of a dense tensor of ``shape``."""
    st, acc = [], 1
    for d in reversed(shape):
        st.append(acc)
        acc *= d
    return st[::-1]


@functools.lru_cache(maxsize=1024)
def bcast_strides(shape, out_shape):
    """Strides of ``shape`` (aligned right to ``out_shape``), 0 where it is broadcast: a
    tuple of MAX_RANK (cached: the same few shapes recur on every op). A dim of size 1 in
    both keeps its row-major stride (any stride reads it alike), so a tensor of the output's
    shape gets the dense strides and is read at the output's index, not unravelled."""
    shape = [1] * (len(out_shape) - len(shape)) + list(shape)
    st = strides(shape)
    return tuple(pad([0 if s == 1 and o != 1 else t for s, o, t in zip(shape, out_shape, st)],
                     0))
