"""Embeddings and one-hot encoding."""
import math

import numpy as np

from ... import dtypes
from ...autograd import no_grad, is_grad_enabled
from ...functions.elementwise import where, isfinite
from ...functions.indexing import index_select
from ...ops.movement import ScatterAdd
from ...tensor import arange, tensor


def _padding_index(op, padding_idx, num):
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise ValueError(f"{op}: padding_idx {padding_idx} must be within num_embeddings "
                         f"({num})")
    return padding_idx % num


def _row_norms(w, norm_type):
    if norm_type == math.inf:
        return w.abs().amax(1, keepdim=True)
    if norm_type == 2:
        return (w * w).sum(1, keepdim=True).sqrt()
    if norm_type == 1:
        return w.abs().sum(1, keepdim=True)
    return w.abs().pow(norm_type).sum(1, keepdim=True).pow(1.0 / norm_type)


def _renorm_rows_(weight, rows, max_norm, norm_type):
    """PyTorch's embedding_renorm_: each row looked up whose norm exceeds max_norm is scaled
    in place by max_norm / (norm + 1e-7), outside autograd."""
    num = weight.shape[0]
    with no_grad():
        w = weight.detach()
        idx = tensor(rows, device=w.device)
        sel = index_select(w, 0, idx)
        n = _row_norms(sel, norm_type)
        new = where(n > max_norm, sel * (max_norm / (n + 1e-7)), sel)
        placed = ScatterAdd.apply(new, idx.unsqueeze(1).expand(tuple(new.shape)), axis=0,
                                  shape=tuple(w.shape))
        mask = np.zeros((num, 1), dtype=bool)
        mask[rows] = True
        weight.copy_(where(tensor(mask, device=w.device), placed, w))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,  # noqa: A002
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` at ``input``. padding_idx: that row gets no gradient. max_norm:
    looked-up rows are renormalised in place first (PyTorch's semantics). scale_grad_by_freq:
    each row's gradient is divided by its count in the batch."""
    if input.dtype is not dtypes.int64:
        raise TypeError(f"embedding: indices must be int64, got {input.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D, got shape {tuple(weight.shape)}")
    num = weight.shape[0]
    pi = _padding_index("embedding", padding_idx, num)
    if sparse and weight.requires_grad and is_grad_enabled():
        raise NotImplementedError("embedding: sparse=True (a sparse gradient for the weight) is "
                                  "not supported; webdl's gradients are dense: use sparse=False")
    flat = input.reshape(-1)
    host = None
    if max_norm is not None or (scale_grad_by_freq and weight.requires_grad):
        host = flat._value().astype(np.int64)
        if host.size and (host.min() < 0 or host.max() >= num):   # PyTorch: 0..num-1
            bad = host.min() if host.min() < 0 else host.max()
            raise IndexError(f"embedding: index {int(bad)} is out of range for {num} rows")
    if max_norm is not None and host.size:
        _renorm_rows_(weight, np.unique(host), max_norm, norm_type)
    out = index_select(weight, 0, flat)
    if scale_grad_by_freq and out.requires_grad and host.size:
        _, inverse, counts = np.unique(host, return_inverse=True, return_counts=True)
        s = tensor((1.0 / counts[inverse]).astype(np.float32).reshape(-1, 1), device=out.device)
        # forward: out itself (t - t.detach() is 0); backward: the gradient times s
        t = out * s
        out = where(isfinite(t), out.detach() + (t - t.detach()), out)
    out = out.reshape(*input.shape, weight.shape[1])
    if pi is not None and out.requires_grad:
        out = where((input == pi).unsqueeze(-1), out.detach(), out)
    return out


def one_hot(tensor, num_classes=-1):
    if tensor.dtype is not dtypes.int64:
        raise TypeError(f"one_hot: expects an int64 tensor, got {tensor.dtype}")
    if num_classes < 0:
        num_classes = int(tensor.max().item()) + 1 if tensor.numel() else 0
    return (tensor.unsqueeze(-1) == arange(num_classes, device=tensor.device)).long()
