"""Losses."""
from ... import dtypes
from ...functions.elementwise import UNARY_FUNCTIONS, where, broadcast_shapes
from ...functions.indexing import index_select
from ...functions.reduction import log_softmax
from ...ops.movement import Gather


def _reduce(op, loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _same_shape(op, a, b):
    if tuple(a.shape) != tuple(b.shape):
        broadcast_shapes(op, a.shape, b.shape)


def mse_loss(input, target, reduction="mean"):  # noqa: A002
    _same_shape("mse_loss", input, target)
    d = input - target
    return _reduce("mse_loss", d * d, reduction)


def l1_loss(input, target, reduction="mean"):  # noqa: A002
    _same_shape("l1_loss", input, target)
    return _reduce("l1_loss", (input - target).abs(), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):  # noqa: A002
    _same_shape("smooth_l1_loss", input, target)
    d = (input - target).abs()
    if beta == 0:
        return _reduce("smooth_l1_loss", d, reduction)
    return _reduce("smooth_l1_loss", where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta),
                   reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):  # noqa: A002
    _same_shape("huber_loss", input, target)
    d = (input - target).abs()
    return _reduce("huber_loss", where(d < delta, d * d * 0.5, (d - 0.5 * delta) * delta),
                   reduction)


def _class_targets(op, input, target):
    """Check (N, C, ...) / (C,) input against int64 targets; returns (class dim, C)."""
    if target.dtype is not dtypes.int64:
        raise TypeError(f"{op}: target must be int64 class indices, got {target.dtype}")
    if input.ndim == 1:
        if target.ndim != 0:
            raise ValueError(f"{op}: input of shape {tuple(input.shape)} expects a 0-d target, "
                             f"got shape {tuple(target.shape)}")
        return 0, input.shape[0]
    want = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != want:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} expects target of shape "
                         f"{want}, got {tuple(target.shape)}")
    return 1, input.shape[1]


def _check_class_targets(op, input, target, weight, ignore_index):
    cdim, c = _class_targets(op, input, target)
    if weight is not None and tuple(weight.shape) != (c,):
        raise ValueError(f"{op}: weight shape {tuple(weight.shape)} should be ({c},)")
    if target.numel():
        tv = target._value()
        bad = tv[(tv != ignore_index) & ((tv < 0) | (tv >= c))]
        if bad.size:
            raise IndexError(f"{op}: target {int(bad[0])} is out of bounds for {c} classes")
    return cdim, c


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):  # noqa: A002
    cdim, c = _check_class_targets("nll_loss", input, target, weight, ignore_index)
    valid = target != ignore_index
    safe = where(valid, target, 0)
    # the targets were range-checked above: gather without reading them back again
    picked = Gather.apply(input, safe.unsqueeze(cdim), axis=cdim).squeeze(cdim)
    w = valid.float()
    if weight is not None:
        w = w * index_select(weight, 0, safe.reshape(-1)).reshape(safe.shape)
    loss = -picked * w
    if reduction == "mean":
        return loss.sum() / w.sum()
    return _reduce("nll_loss", loss, reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",  # noqa: A002
                  label_smoothing=0.0):
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    cdim = 0 if input.ndim == 1 else 1
    c = input.shape[cdim]
    if not target.dtype.is_floating_point:
        _check_class_targets("cross_entropy", input, target, weight, ignore_index)
    logp = log_softmax(input, cdim)
    if target.dtype.is_floating_point:  # class probabilities
        if tuple(target.shape) != tuple(input.shape):
            raise ValueError(f"cross_entropy: probability targets must have the input's shape "
                             f"{tuple(input.shape)}, got {tuple(target.shape)}")
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / c
        lp = logp if weight is None else logp * weight.reshape((c,) + (1,) * (input.ndim - 2))
        loss = -(lp * target).sum(cdim)
        if reduction == "mean":
            return loss.sum() / (loss.numel() and input.numel() // c)
        return _reduce("cross_entropy", loss, reduction)
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if not label_smoothing:
        return nll
    valid = (target != ignore_index).float()
    wshape = (c,) + (1,) * (input.ndim - 2)
    lp = logp if weight is None else logp * weight.reshape(wshape)
    smooth = -lp.sum(cdim) * valid
    if reduction == "mean":
        if weight is not None:
            safe = where(target != ignore_index, target, 0)
            denom = (index_select(weight, 0, safe.reshape(-1)).reshape(safe.shape) *
                     valid).sum()
        else:
            denom = valid.sum()
        smooth = smooth.sum() / denom
    else:
        smooth = _reduce("cross_entropy", smooth, reduction)
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / c)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):  # noqa: A002
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"binary_cross_entropy: target shape {tuple(target.shape)} must match "
                         f"input shape {tuple(input.shape)}")
    loss = -(target * input.log().clamp(min=-100.0) +
             (1.0 - target) * (1.0 - input).log().clamp(min=-100.0))
    if weight is not None:
        loss = loss * weight
    return _reduce("binary_cross_entropy", loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",  # noqa: A002
                                     pos_weight=None):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"binary_cross_entropy_with_logits: target shape "
                         f"{tuple(target.shape)} must match input shape {tuple(input.shape)}")
    soft = UNARY_FUNCTIONS["log1p"]((-input.abs()).exp()) + (-input).clamp(min=0.0)
    if pos_weight is not None:
        lw = (pos_weight - 1.0) * target + 1.0
        loss = (1.0 - target) * input + lw * soft
    else:
        loss = (1.0 - target) * input + soft
    if weight is not None:
        loss = loss * weight
    return _reduce("binary_cross_entropy_with_logits", loss, reduction)


def kl_div(input, target, reduction="mean", log_target=False):  # noqa: A002
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = where(target > 0, target * (target.log() - input), 0.0)
    if reduction == "batchmean":
        return loss.sum() / input.shape[0]
    return _reduce("kl_div", loss, reduction)
