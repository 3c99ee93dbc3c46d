"""Activations."""
from ...functions.elementwise import (UNARY_FUNCTIONS, where, leaky_relu, gelu,  # noqa: F401
                                      softplus)
from ...functions.reduction import softmax, log_softmax  # noqa: F401

relu, sigmoid, tanh = UNARY_FUNCTIONS["relu"], UNARY_FUNCTIONS["sigmoid"], UNARY_FUNCTIONS["tanh"]


def relu6(x):
    return x.clamp(0.0, 6.0)


def silu(x):
    return x * x.sigmoid()


def elu(x, alpha=1.0):
    return where(x > 0, x, (x.clamp(max=0.0).exp() - 1.0) * alpha)


def hardtanh(x, min_val=-1.0, max_val=1.0):
    return x.clamp(min_val, max_val)


def prelu(x, weight):
    if weight.numel() != 1 and (x.ndim < 2 or weight.numel() != x.shape[1]):
        raise ValueError(f"prelu: weight has {weight.numel()} elements but input has "
                         f"{x.shape[1] if x.ndim > 1 else 1} channels")
    w = weight.reshape((1, -1) + (1,) * (x.ndim - 2)) if weight.numel() != 1 and x.ndim > 1 \
        else weight.reshape(())
    return where(x > 0, x, x * w)


def logsigmoid(x):
    return -softplus(-x)
