"""Embeddings and one-hot encoding."""
from ... import dtypes
from ...functions.elementwise import where
from ...functions.indexing import index_select
from ...tensor import arange


def embedding(input, weight, padding_idx=None, max_norm=None):  # noqa: A002
    if input.dtype is not dtypes.int64:
        raise TypeError(f"embedding: indices must be int64, got {input.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D, got shape {tuple(weight.shape)}")
    out = index_select(weight, 0, input.reshape(-1)).reshape(*input.shape, weight.shape[1])
    if padding_idx is not None and out.requires_grad:
        pi = padding_idx % weight.shape[0]
        out = where((input == pi).unsqueeze(-1), out.detach(), out)
    return out


def one_hot(tensor, num_classes=-1):
    if tensor.dtype is not dtypes.int64:
        raise TypeError(f"one_hot: expects an int64 tensor, got {tensor.dtype}")
    if num_classes < 0:
        num_classes = int(tensor.max().item()) + 1 if tensor.numel() else 0
    return (tensor.unsqueeze(-1) == arange(num_classes, device=tensor.device)).long()
