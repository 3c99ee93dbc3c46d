"""The primitive ops: the closed set every backend implements, one module per family.

- elementwise: the unary and binary tables, ``where``, ``cast`` (``elementwise = True``)
- reduce: ``sum``, ``amax``, ``amin``, ``argmax``, ``argmin``; ``softmax`` over the last dim
  (scale, masks and log_softmax fused in) and ``softmax_backward``
- movement: ``reshape``, ``permute``, ``expand``, ``slice``/``unslice``, ``flip``, ``cat``,
  ``gather``/``scatter_add``
- linalg: ``matmul``, ``unfold``/``fold`` (im2col and its adjoint)
- conv: ``conv2d``, a fused op (a backend may run it as one kernel; see ``base.Fused``)
- norm: ``layer_norm``, ``layer_norm_backward`` and ``norm_stats`` (batch norm's), fused ops
  (row statistics kernels)
- attention: ``attention``, ``attention_grad_q`` and ``attention_grad_kv``, fused ops (a
  workgroup per row on WebGPU; elsewhere scaled_dot_product_attention's composite)

Everything else (losses, pooling, indexing, ...) is composed of these.
"""
from .base import Op, Fused, DECOMPOSE  # noqa: F401
from .elementwise import UNARY, BINARY, Cast, Where
from .reduce import Sum, Amax, Amin, Argmax, Argmin, Softmax, SoftmaxBackward
from .movement import Reshape, Permute, Expand, Slice, Unslice, Flip, Cat, Gather, ScatterAdd
from .linalg import Matmul, Unfold, Fold
from .conv import Conv2d
from .norm import LayerNorm, LayerNormBackward, NormStats
from .attention import Attention, AttentionGradQ, AttentionGradKV

PRIMITIVES = {op.name: op for op in (
    *UNARY.values(), *BINARY.values(), Cast, Where,
    Sum, Amax, Amin, Argmax, Argmin, Softmax, SoftmaxBackward,
    Reshape, Permute, Expand, Slice, Unslice, Flip, Cat, Gather, ScatterAdd,
    Matmul, Unfold, Fold,
    Conv2d, LayerNorm, LayerNormBackward, NormStats,
    Attention, AttentionGradQ, AttentionGradKV)}


def primitives():
    """Every primitive op class, by kernel name."""
    return dict(PRIMITIVES)
