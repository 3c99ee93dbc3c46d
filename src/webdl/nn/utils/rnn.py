"""``webdl.nn.utils.rnn``, packed sequences: ``PackedSequence``, ``pack_padded_sequence``,
``pad_packed_sequence``, ``pad_sequence``, ``pack_sequence``, with PyTorch's layout --
``data`` holds the steps time-major, each step's sequences sorted longest first, and
``batch_sizes`` (on the CPU, as in PyTorch) counts the sequences still running at each
step. Packing and unpacking are one gather each (positions worked out on the host from
the lengths)."""
import collections

import numpy as np

from ...functions.elementwise import where
from ...functions.shape import cat, stack
from ...tensor import Tensor, tensor, full

PackedSequence_ = collections.namedtuple(
    "PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


class PackedSequence(PackedSequence_):
    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = tensor(np.argsort(sorted_indices.tolist()),
                                      device=sorted_indices.device)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        return PackedSequence(self.data.to(*args, **kwargs), self.batch_sizes,
                              self.sorted_indices, self.unsorted_indices)


def _lengths(lengths):
    v = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    return [int(n) for n in np.asarray(v).reshape(-1)]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):  # noqa: A002
    lens = _lengths(lengths)
    if batch_first:
        input = input.transpose(0, 1)
    seq, batch = input.shape[0], input.shape[1]
    if len(lens) != batch:
        raise ValueError(f"pack_padded_sequence: expected {batch} lengths (the batch size), "
                         f"got {len(lens)}")
    if min(lens) <= 0 or max(lens) > seq:
        raise RuntimeError(f"pack_padded_sequence: lengths must be in [1, {seq}], got {lens}")
    if enforce_sorted:
        if any(a < b for a, b in zip(lens, lens[1:])):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        order = np.arange(batch)
        sorted_indices = None
    else:
        order = np.argsort(-np.asarray(lens), kind="stable")
        sorted_indices = tensor(order, device=input.device)
    sorted_lens = np.asarray(lens)[order]
    batch_sizes = [int((sorted_lens > t).sum()) for t in range(int(sorted_lens[0]))]
    pos = [t * batch + int(order[b]) for t, bs in enumerate(batch_sizes) for b in range(bs)]
    flat = input.reshape((seq * batch,) + tuple(input.shape[2:]))
    data = flat.index_select(0, tensor(np.asarray(pos, np.int64), device=input.device))
    return PackedSequence(data, tensor(batch_sizes, device="cpu"), sorted_indices)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    data, batch_sizes = sequence.data, sequence.batch_sizes.tolist()
    batch, steps = batch_sizes[0], len(batch_sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"pad_packed_sequence: expected total_length to be at least the "
                             f"length of the longest sequence ({steps}), got {total_length}")
        steps_out = total_length
    else:
        steps_out = steps
    order = sequence.sorted_indices.tolist() if sequence.sorted_indices is not None else \
        list(range(batch))
    src = np.full(steps_out * batch, -1, dtype=np.int64)
    k = 0
    for t, bs in enumerate(batch_sizes):
        for b in range(bs):
            src[t * batch + order[b]] = k
            k += 1
    hit = tensor((src >= 0).reshape((steps_out * batch,) + (1,) * (data.ndim - 1)),
                 device=data.device)
    taken = data.index_select(0, tensor(np.maximum(src, 0), device=data.device))
    pad = full((), padding_value, dtype=data.dtype, device=data.device)
    out = where(hit, taken, pad).reshape((steps_out, batch) + tuple(data.shape[1:]))
    lengths = np.zeros(batch, dtype=np.int64)
    for b in range(batch):
        lengths[order[b]] = sum(1 for bs in batch_sizes if bs > b)
    if batch_first:
        out = out.transpose(0, 1)
    return out, tensor(lengths, device="cpu")


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got "
                         f"{padding_side!r}")
    longest = max(s.shape[0] for s in sequences)
    out = []
    for s in sequences:
        extra = longest - s.shape[0]
        if extra:
            padding = full((extra,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype,
                           device=s.device)
            s = cat([s, padding] if padding_side == "right" else [padding, s], 0)
        out.append(s)
    return stack(out, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted=True):
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
