"""Attention: ``scaled_dot_product_attention``, with PyTorch's masks and results."""
import math

from ...functions.linalg import matmul, matmul_nt
from ...ops.attention import Attention, fits
from ...functions.reduction import masked_softmax
from .dropout import dropout


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
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: explicit attn_mask should not "
                           "be set when is_causal=True")
    scale = float(scale)
    if attn_mask is None and dropout_p == 0.0 and "attention" in query.device.backend.fused \
            and fits(query, key, value):
        # one kernel forward, two backward (WebGPU)
        return Attention.apply(query, key, value, scale=scale, causal=bool(is_causal))
    # scale, mask (the causal one made in the kernel, not uploaded), max-subtracted exp and
    # normalisation as one primitive; a row left with no key gives zeros, as PyTorch's
    # SDPA does (its plain softmax gives NaN)
    weights = masked_softmax(matmul_nt(query, key), attn_mask, scale,
                             causal=is_causal, safe=True)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    return matmul(weights, value)
