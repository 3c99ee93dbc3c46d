"""Linear maps."""
from ...functions.linalg import matmul
from ...ops.linalg import Matmul


def linear(input, weight, bias=None):  # noqa: A002
    x = input
    if x.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: input shape {tuple(x.shape)} and weight shape "
                         f"{tuple(weight.shape)} don't match ({x.shape[-1]} input features vs "
                         f"{weight.shape[-1]})")
    if x.ndim >= 2 and weight.ndim == 2 and x.dtype.is_floating_point and \
            weight.dtype.is_floating_point:
        y = Matmul.apply(x, weight, tb=True)     # the weight read transposed, no op of its own
    else:
        y = matmul(x, weight.t())
    return y + bias if bias is not None else y
