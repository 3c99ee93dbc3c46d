"""Parameters to one flat vector and back (torch.nn.utils.convert_parameters)."""
from ...functions.shape import cat
from ...tensor import Tensor


def _check_device(param, device):
    if device is not None and param.device != device:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        "supported.")
    return param.device


def parameters_to_vector(parameters):
    """One 1-D tensor of all the parameters' values, in order (differentiable)."""
    device = None
    parts = []
    for p in parameters:
        device = _check_device(p, device)
        parts.append(p.reshape(-1))
    return cat(parts)


def vector_to_parameters(vec, parameters):
    """Give the parameters, in order, the values of consecutive slices of ``vec``."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__module__}."
                        f"{type(vec).__name__}")
    device = None
    at = 0
    for p in parameters:
        device = _check_device(p, device)
        n = p.numel()
        p.data = vec[at:at + n].reshape(p.shape).data
        at += n
