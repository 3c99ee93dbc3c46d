"""Attention as fused ops (see ``base.Fused``): ``attention`` is softmax(q k^T * scale) v
over the last two dims, without a mask or with the causal one, and its backward is two
more: ``attention_grad_q`` (the query's gradient and each query row's statistics) and
``attention_grad_kv`` (the key's and value's gradients side by side). A backend that
names them in ``fused`` runs each as one kernel (WebGPU: a workgroup per row, the row's
scores in workgroup memory); the others run the composite of ``scaled_dot_product_attention``
(two products and the softmax primitive) and never see these ops, so none has a
``decompose``: that composite, with masks and dropout, is the functional's own.

Shapes: q (..., L, E), k (..., S, E), v (..., S, Ev), the same leading dims; at most
MAX_KEYS keys and queries and MAX_DIM features, as the kernels hold a row in workgroup
memory, and MAX_PAIRS query-key pairs (``fits`` says whether a call qualifies).
``causal`` keeps key j for query i where j <= i (PyTorch's upper-left aligned
``is_causal``). A row whose every score is -inf gives zeros, as ``safe`` softmax (PyTorch's
scaled_dot_product_attention)."""
import numpy as np

from .base import Fused
from .reduce import _causal

MAX_KEYS = 1024
MAX_DIM = 256
# ...and only where they pay: a workgroup per row reads every key row itself, so long
# sequences are the composite's (its tiled products). H200, 8 heads x 64 features, forward
# and backward, fused / composite ms: 128 queries x 128 keys 3.8-4.4 / 4.8-7.0, 512 x 512
# 8.3-8.5 / 4.9-6.2, 1024 x 1024 29-52 / 6.7-6.9.
MAX_PAIRS = 256 * 256


def fits(q, k, v):
    """Whether the fused ops take these operands (float, same leading dims, within limits)."""
    return (q.ndim >= 2 and q.ndim == k.ndim == v.ndim and q.ndim <= 6
            and q.shape[-2] * k.shape[-2] <= MAX_PAIRS
            and q.dtype.is_floating_point and k.dtype == q.dtype and v.dtype == q.dtype
            and tuple(q.shape[:-2]) == tuple(k.shape[:-2]) == tuple(v.shape[:-2])
            and 0 < q.shape[-2] <= MAX_KEYS and 0 < k.shape[-2] <= MAX_KEYS
            and 0 < q.shape[-1] <= MAX_DIM and 0 < v.shape[-1] <= MAX_DIM
            and k.shape[-1] == q.shape[-1] and v.shape[-2] == k.shape[-2])


def _check(name, q, k, v):
    if not fits(q, k, v):
        raise ValueError(f"{name}: query {tuple(q.shape)}, key {tuple(k.shape)} and value "
                         f"{tuple(v.shape)} are not float operands with one set of leading "
                         f"dims, at most {MAX_KEYS} queries and keys and {MAX_DIM} features")


def _probs(q, k, scale, causal):
    """numpy: the attention weights and each row's log-sum-exp (rows of -inf: zeros, +inf)."""
    s = np.matmul(q, np.swapaxes(k, -1, -2)) * np.float32(scale)
    if causal:
        s = np.where(_causal(s.shape), s, -np.inf)
    m = np.max(s, axis=-1, keepdims=True)
    dead = m == -np.inf
    m = np.where(dead, 0.0, m)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        e = np.exp(s - m)
        z = np.sum(e, axis=-1, keepdims=True)
        p = np.where(dead, 0.0, e / z)
        lse = np.where(dead, np.inf, m + np.log(z))
    return p, lse


class Attention(Fused):
    """softmax(q k^T * scale, causal) v."""
    name = "attention"
    saves = (0, 1, 2, "out")
    __slots__ = ()

    @classmethod
    def infer(cls, q, k, v, *, scale, causal):
        _check("attention", q, k, v)
        return tuple(q.shape[:-1]) + (v.shape[-1],), q.dtype

    @staticmethod
    def ref(q, k, v, *, scale, causal):
        return np.matmul(_probs(q, k, scale, causal)[0], v).astype(q.dtype)

    def backward(self, g):
        q, k, v = self.inputs
        a = self.attrs
        e = q.shape[-1]
        stats = AttentionGradQ.apply(g, q, k, v, self.out, **a)
        gq = stats[..., :e] if q.requires_grad else None
        gk = gv = None
        if k.requires_grad or v.requires_grad:
            kv = AttentionGradKV.apply(g, q, k, v, stats, **a)
            gk = kv[..., :e] if k.requires_grad else None
            gv = kv[..., e:] if v.requires_grad else None
        return gq, gk, gv


class AttentionGradQ(Fused):
    """Given the output's gradient ``g`` and the output ``o``: (..., L, E + 2), the query's
    gradient, then each query row's log-sum-exp of its scores and D = sum(g * o) (what
    ``attention_grad_kv`` needs of the rows)."""
    name = "attention_grad_q"
    differentiable = False      # backward passes run without recording (no create_graph)
    saves = ()
    __slots__ = ()

    @classmethod
    def infer(cls, g, q, k, v, o, *, scale, causal):
        _check("attention_grad_q", q, k, v)
        return tuple(q.shape[:-1]) + (q.shape[-1] + 2,), q.dtype

    @staticmethod
    def ref(g, q, k, v, o, *, scale, causal):
        p, lse = _probs(q, k, scale, causal)
        d = np.sum(g * o, axis=-1, keepdims=True)
        ds = p * (np.matmul(g, np.swapaxes(v, -1, -2)) - d)
        gq = np.matmul(ds, k) * np.float32(scale)
        return np.concatenate([gq, lse, d], axis=-1).astype(q.dtype)


class AttentionGradKV(Fused):
    """Given the output's gradient ``g`` and ``attention_grad_q``'s rows ``stats``: (..., S,
    E + Ev), the key's gradient, then the value's."""
    name = "attention_grad_kv"
    differentiable = False
    saves = ()
    __slots__ = ()

    @classmethod
    def infer(cls, g, q, k, v, stats, *, scale, causal):
        _check("attention_grad_kv", q, k, v)
        return tuple(k.shape[:-1]) + (k.shape[-1] + v.shape[-1],), q.dtype

    @staticmethod
    def ref(g, q, k, v, stats, *, scale, causal):
        e = q.shape[-1]
        lse, d = stats[..., e:e + 1], stats[..., e + 1:e + 2]
        s = np.matmul(q, np.swapaxes(k, -1, -2)) * np.float32(scale)
        keep = _causal(s.shape) if causal else True
        with np.errstate(invalid="ignore", over="ignore"):
            p = np.where(keep & (lse != np.inf), np.exp(s - lse), 0.0)
        ds = p * (np.matmul(g, np.swapaxes(v, -1, -2)) - d)
        gk = np.matmul(np.swapaxes(ds, -1, -2), q) * np.float32(scale)
        gv = np.matmul(np.swapaxes(p, -1, -2), g)
        return np.concatenate([gk, gv], axis=-1).astype(q.dtype)
