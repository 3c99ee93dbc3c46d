"""Attention: ``scaled_dot_product_attention``, with PyTorch's masks and results."""
import math

import numpy as np

from ...functions.elementwise import where
from ...functions.linalg import matmul
from ...functions.reduction import softmax
from ...tensor import tensor
from .dropout import dropout


def _causal_mask(n, s, device=None):
    """True on and below the diagonal: query i may attend to keys 0..i."""
    return tensor(np.tril(np.ones((n, s), dtype=bool)), device=device)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(q k^T * scale + mask) v over the last two dims; leading dims broadcast. A
    boolean ``attn_mask`` marks the pairs that take part (True); a float one is added."""
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: query {tuple(query.shape)}, key "
                         f"{tuple(key.shape)} and value {tuple(value.shape)} don't fit "
                         "(q and k need one embedding size, k and v one sequence length)")
    if enable_gqa and query.ndim >= 3 and query.shape[-3] != key.shape[-3]:
        reps = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(reps, -3)
        value = value.repeat_interleave(reps, -3)
    n, s = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = matmul(query, key.transpose(-2, -1)) * scale
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("scaled_dot_product_attention: explicit attn_mask should not "
                               "be set when is_causal=True")
        attn_mask = _causal_mask(n, s, query.device)
    if attn_mask is not None:
        if attn_mask.dtype.name == "bool":
            scores = where(attn_mask, scores, -math.inf)
        else:
            scores = scores + attn_mask
    weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    return matmul(weights, value)
