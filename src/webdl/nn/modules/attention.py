"""``nn.MultiheadAttention`` with PyTorch's parameter names (``in_proj_weight``,
``out_proj``...), mask conventions and results, so its state_dicts load and its outputs
match. Its boolean masks mark what is *left out* (True), as in PyTorch (the opposite of
``F.scaled_dot_product_attention``'s); float masks are added to the scores."""
import math

import numpy as np

from ...functions.elementwise import where
from ...functions.linalg import matmul, matmul_nt
from ...functions.shape import cat
from ...functions.reduction import masked_softmax
from ...tensor import tensor, zeros
from .. import functional as F
from .. import init
from ..module import Module, Parameter
from .linear import Linear


def _causal_mask(n, s, device=None):
    """True on and below the diagonal: query i may attend to keys 0..i."""
    return tensor(np.tril(np.ones((n, s), dtype=bool)), device=device)


class MultiheadAttention(Module):
    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be positive "
                             f"and divisible by num_heads ({num_heads})")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.batch_first, self.head_dim = batch_first, embed_dim // num_heads
        self.add_zero_attn = add_zero_attn
        e = embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(zeros(3 * e, e, device=device))
            for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(n, None)
        else:
            self.q_proj_weight = Parameter(zeros(e, e, device=device))
            self.k_proj_weight = Parameter(zeros(e, self.kdim, device=device))
            self.v_proj_weight = Parameter(zeros(e, self.vdim, device=device))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(zeros(3 * e, device=device))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(e, e, bias=bias)
        if add_bias_kv:
            self.bias_k = Parameter(zeros(1, 1, e, device=device))
            self.bias_v = Parameter(zeros(1, 1, e, device=device))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        unbatched = query.ndim == 2
        # self-attention: q, k and v projected by one product of the packed weight, as
        # PyTorch's in_projection_packed does (one matmul and one bias add, not three)
        packed = query is key and key is value and self._qkv_same_embed_dim
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:     # one transpose per distinct tensor (self-attention: one)
            q_t = query.transpose(0, 1)
            k_t = q_t if key is query else key.transpose(0, 1)
            value = q_t if value is query else k_t if value is key else value.transpose(0, 1)
            query, key = q_t, k_t
        if query.ndim != 3 or query.shape[-1] != self.embed_dim:
            raise ValueError(f"MultiheadAttention: expected query of shape (L, N, "
                             f"{self.embed_dim}) (or (N, L, {self.embed_dim}) with "
                             f"batch_first), got {tuple(query.shape)}")
        tgt, bsz, e = query.shape
        h, hd = self.num_heads, self.head_dim
        b = self.in_proj_bias
        if packed:
            qkv = F.linear(query, self.in_proj_weight, b)
            q, k, v = qkv[..., :e], qkv[..., e:2 * e], qkv[..., 2 * e:]
        else:
            bq, bk, bv = (b[:e], b[e:2 * e], b[2 * e:]) if b is not None else (None,) * 3
            if self._qkv_same_embed_dim:
                w = self.in_proj_weight
                wq, wk, wv = w[:e], w[e:2 * e], w[2 * e:]
            else:
                wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
            q = F.linear(query, wq, bq)
            k = F.linear(key, wk, bk)
            v = F.linear(value, wv, bv)
        mask = self._merged_mask(attn_mask, key_padding_mask, is_causal, tgt, key.shape[0],
                                 bsz, query)
        if self.bias_k is not None:
            k = _cat0(k, self.bias_k.expand(1, bsz, e))
            v = _cat0(v, self.bias_v.expand(1, bsz, e))
            mask = _pad_last(mask, 1) if mask is not None else None
        if self.add_zero_attn:
            k = _cat0(k, zeros(1, bsz, e, device=k.device))
            v = _cat0(v, zeros(1, bsz, e, device=v.device))
            mask = _pad_last(mask, 1) if mask is not None else None
        src = k.shape[0]
        # (L, N, E) -> (N, H, L, hd)
        q = q.reshape(tgt, bsz, h, hd).permute(1, 2, 0, 3)
        k = k.reshape(src, bsz, h, hd).permute(1, 2, 0, 3)
        v = v.reshape(src, bsz, h, hd).permute(1, 2, 0, 3)
        dropout = self.dropout > 0.0 and self.training
        if mask is None and not need_weights and not dropout:
            # the weights not wanted: scaled_dot_product_attention (fused ops where the
            # backend has them)
            out = F.scaled_dot_product_attention(q, k, v)
        else:
            # scale, mask and softmax as one primitive (two passes on WebGL)
            weights = masked_softmax(matmul_nt(q, k), mask, 1.0 / math.sqrt(hd))
            if dropout:
                weights = F.dropout(weights, self.dropout, True)
            out = matmul(weights, v)
        out = out.permute(2, 0, 1, 3).reshape(tgt, bsz, e)
        out = self.out_proj(out)
        if unbatched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(1)
        if unbatched:
            weights = weights.squeeze(0)
        return out, weights

    def _merged_mask(self, attn_mask, key_padding_mask, is_causal, tgt, src, bsz, ref):
        """One float mask (N, H or 1, L, S) of 0 and -inf (or the given floats)."""
        def as_float(m):
            if m.dtype.name == "bool":
                return where(m, -math.inf, 0.0).float()
            return m.float()
        mask = None
        if attn_mask is None and is_causal:
            attn_mask = _causal_mask(tgt, src, ref.device).logical_not()
        if attn_mask is not None:
            m = as_float(attn_mask)
            if m.ndim == 2:
                if tuple(m.shape) != (tgt, src):
                    raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(m.shape)}, "
                                       f"but should be {(tgt, src)}.")
                mask = m.reshape(1, 1, tgt, src)
            else:
                if tuple(m.shape) != (bsz * self.num_heads, tgt, src):
                    raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(m.shape)}, "
                                       f"but should be {(bsz * self.num_heads, tgt, src)}.")
                mask = m.reshape(bsz, self.num_heads, tgt, src)
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (bsz, src):
                raise RuntimeError(f"expected key_padding_mask of shape {(bsz, src)}, got "
                                   f"{tuple(key_padding_mask.shape)}")
            kp = as_float(key_padding_mask).reshape(bsz, 1, 1, src)
            mask = kp if mask is None else mask + kp
        return mask

    def extra_repr(self):
        return ""


def _cat0(a, b):
    return cat([a, b], 0)


def _pad_last(mask, n):
    return F.pad(mask, (0, n))
