"""Matrix products: matmul (with PyTorch's 1-D and broadcasting rules), mm, bmm, dot,
outer."""
from ..ops.linalg import Matmul
from .common import BOTH, METHOD, check_tensor, reflected
from .shape import squeeze, unsqueeze


def matmul(a, b):
    check_tensor("matmul", a)
    check_tensor("matmul", b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dim, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    if not (a.dtype.is_floating_point and b.dtype.is_floating_point):
        if a.dtype is not b.dtype:
            raise TypeError(f"matmul: expected both tensors to have the same dtype, got "
                            f"{a.dtype} and {b.dtype}")
    a2 = unsqueeze(a, 0) if a.ndim == 1 else a
    b2 = unsqueeze(b, -1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                         f"multiplied ({a2.shape[-1]} != {b2.shape[-2]})")
    out = Matmul.apply(a2, b2)
    if a.ndim == 1:
        out = squeeze(out, -2)
    if b.ndim == 1:
        out = squeeze(out, -1)
    return out


def matmul_nt(a, b):
    """``a @ b.transpose(-2, -1)`` (attention's scores), b read transposed in place: no
    transpose op, forward or backward."""
    check_tensor("matmul", a)
    check_tensor("matmul", b)
    if a.ndim < 2 or b.ndim < 2 or a.dtype is not b.dtype or not a.dtype.is_floating_point:
        return matmul(a, b.transpose(-2, -1))
    return Matmul.apply(a, b, tb=True)


def mm(a, b):
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expects 2-D tensors, got {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def bmm(a, b):
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: expects 3-D tensors with equal batch, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    return matmul(a, b)


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"dot: expects 1-D tensors, got {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def outer(a, b):
    return unsqueeze(a, 1) * unsqueeze(b, 0)


API = {
    **{name: (fn, BOTH) for name, fn in {
        "matmul": matmul, "mm": mm, "bmm": bmm, "dot": dot, "outer": outer}.items()},
    "__matmul__": (matmul, METHOD), "__rmatmul__": (reflected(matmul), METHOD),
}
