"""Dropout: elementwise, and channel-wise (dropout1d/2d/3d: whole feature maps)."""
import warnings

from ...tensor import rand


def _check_p(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
    _check_p(p)
    x = input
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = rand(*x.shape, device=x.device) >= p
    return x * keep * (1.0 / (1.0 - p))


def _feature_dropout(x, p, training):
    """Zero whole channels of (N, C, *) input, one draw per (sample, channel)."""
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = rand(*x.shape[:2], *(1,) * (x.ndim - 2), device=x.device) >= p
    return x * keep * (1.0 / (1.0 - p))


def dropout1d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    _check_p(p)
    if input.ndim not in (2, 3):
        raise ValueError(f"dropout1d: expected 2D or 3D input, but received a {input.ndim}D "
                         f"input")
    if input.ndim == 2:
        return _feature_dropout(input.unsqueeze(0), p, training).squeeze(0)
    return _feature_dropout(input, p, training)


def dropout2d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """As PyTorch: a 3-D input is taken as (N, C, L) (channel-wise 1-D dropout), with its
    warning."""
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      "deprecated. Note that dropout2d exists to provide channel-wise dropout on "
                      "inputs with 2 spatial dimensions, a channel dimension, and an optional "
                      "batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim, as PyTorch does. Use "
                      "dropout1d for that behaviour.", stacklevel=2)
    return _feature_dropout(input, p, training)


def dropout3d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    _check_p(p)
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is "
                      "deprecated. Note that dropout3d exists to provide channel-wise dropout on "
                      "inputs with 3 spatial dimensions, a channel dimension, and an optional "
                      "batch dimension (i.e. 4D or 5D inputs).", stacklevel=2)
    if input.ndim != 5:
        return _feature_dropout(input.unsqueeze(0), p, training).squeeze(0)
    return _feature_dropout(input, p, training)
