"""webdl.utils.data against torch.utils.data: order, batching, drop_last, collation,
samplers, splits; seeded shuffles repeat exactly."""
import collections
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import webdl
import webdl.utils.data as wud


def _flat(x):
    """A batch (nested tensors, lists, dicts) as plain Python data for comparison."""
    if hasattr(x, "detach"):
        a = x.detach().cpu().numpy()
        return ("T", str(a.dtype)[:1] if a.dtype != np.bool_ else "b", a.shape, a.tolist())
    if isinstance(x, dict):
        return {k: _flat(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return (type(x).__name__ if hasattr(x, "_fields") else "seq", [_flat(v) for v in x])
    return x


def _same_batches(make, **kw):
    got = [_flat(b) for b in wud.DataLoader(make(wud), **kw)]
    want = [_flat(b) for b in tud.DataLoader(make(tud), **kw)]
    assert got == want


Point = collections.namedtuple("Point", "x label")


class Items:
    """A map-style dataset of mixed fields, written against either library's Dataset."""

    def __init__(self, lib, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        rng = np.random.default_rng(i)
        return {"img": rng.standard_normal((2, 3)).astype(np.float32), "label": i % 3,
                "name": f"item{i}", "pair": (i, float(i) / 4),
                "flag": i % 2 == 0, "point": Point(np.int64(i), [i, -i])}


@pytest.mark.parametrize("kw", [dict(batch_size=4), dict(batch_size=4, drop_last=True),
                                dict(batch_size=3), dict(batch_size=None),
                                dict(batch_size=1), dict(batch_size=10)])
def test_map_dataset_batches_like_torch(kw):
    _same_batches(lambda lib: Items(lib), **kw)


def test_tensor_dataset_and_len():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)

    def make(lib):
        m = webdl if lib is wud else torch
        return lib.TensorDataset(m.tensor(x), m.tensor(y))
    _same_batches(make, batch_size=4)
    assert len(wud.DataLoader(make(wud), batch_size=4)) == \
        len(tud.DataLoader(make(tud), batch_size=4)) == 3
    assert len(wud.DataLoader(make(wud), batch_size=4, drop_last=True)) == 2


def test_collate_fn_and_batch_sampler():
    ds = list(range(11))
    sampler = [[0, 5], [3, 3, 1], [10]]
    got = list(wud.DataLoader(ds, batch_sampler=sampler, collate_fn=lambda b: sum(b)))
    want = list(tud.DataLoader(ds, batch_sampler=sampler, collate_fn=lambda b: sum(b)))
    assert got == want == [5, 7, 10]
    assert list(wud.BatchSampler(wud.SequentialSampler(ds), 4, True)) == \
        list(tud.BatchSampler(tud.SequentialSampler(ds), 4, True))


def test_iterable_dataset_like_torch():
    def make(lib):
        class Count(lib.IterableDataset):
            def __iter__(self):
                return iter(range(7))
        return Count()
    for kw in (dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)):
        _same_batches(make, **kw)


def test_seeded_shuffle_repeats_and_is_a_permutation():
    ds = list(range(50))
    webdl.manual_seed(3)
    a = [b.tolist() for b in wud.DataLoader(ds, batch_size=8, shuffle=True)]
    webdl.manual_seed(3)
    b = [b.tolist() for b in wud.DataLoader(ds, batch_size=8, shuffle=True)]
    assert a == b and sorted(sum(a, [])) == ds and sum(a, []) != ds
    g1, g2 = webdl.Generator().manual_seed(5), webdl.Generator().manual_seed(5)
    assert [x.tolist() for x in wud.DataLoader(ds, batch_size=8, shuffle=True, generator=g1)] \
        == [x.tolist() for x in wud.DataLoader(ds, batch_size=8, shuffle=True, generator=g2)]
    # a new epoch draws a new order
    loader = wud.DataLoader(ds, batch_size=50, shuffle=True)
    assert next(iter(loader)).tolist() != next(iter(loader)).tolist()


def test_samplers():
    webdl.manual_seed(0)
    s = list(wud.RandomSampler(range(10), replacement=True, num_samples=25))
    assert len(s) == 25 and all(0 <= i < 10 for i in s)
    s = list(wud.RandomSampler(range(10), num_samples=25))
    assert sorted(s[:10]) == sorted(s[10:20]) == list(range(10)) and len(s) == 25
    assert sorted(wud.SubsetRandomSampler([3, 7, 9])) == [3, 7, 9]
    w = list(wud.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 400))
    assert set(w) == {1, 3} and 0.65 < w.count(3) / 400 < 0.85
    assert sorted(wud.WeightedRandomSampler([1, 0, 2, 5], 3, replacement=False)) == [0, 2, 3]
    with pytest.raises(ValueError, match="non-zero weights"):
        wud.WeightedRandomSampler([1, 0], 2, replacement=False)
    with pytest.raises(ValueError, match="batch_size"):
        wud.BatchSampler(range(3), 0, False)


def test_random_split_subset_concat():
    ds = list(range(10))
    parts = wud.random_split(ds, [3, 7], generator=webdl.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(list(parts[0]) + list(parts[1])) == ds
    fr = wud.random_split(ds, [0.33, 0.33, 0.34])
    assert [len(p) for p in fr] == [len(p) for p in tud.random_split(ds, [0.33, 0.33, 0.34])]
    with pytest.raises(ValueError, match="sum of input lengths"):
        wud.random_split(ds, [3, 3])
    cat = wud.ConcatDataset([ds, [100, 101]])
    tcat = tud.ConcatDataset([ds, [100, 101]])
    assert [cat[i] for i in range(-12, 12)] == [tcat[i] for i in range(-12, 12)]
    assert wud.Subset(ds, [4, 1])[1] == 1


def test_workers_run_in_process_with_one_warning():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        wud._WARNED.clear()
        out = [b.tolist() for b in wud.DataLoader(list(range(5)), batch_size=2, num_workers=2)]
        wud.DataLoader(list(range(5)), num_workers=4)
    assert out == [[0, 1], [2, 3], [4]]
    assert len([x for x in w if "num_workers" in str(x.message)]) == 1


def test_bad_options_are_refused_like_torch():
    ds = list(range(4))
    for kw in (dict(batch_sampler=[[0]], batch_size=2), dict(sampler=[0, 1], shuffle=True),
               dict(batch_size=None, drop_last=True)):
        with pytest.raises(ValueError):
            tud.DataLoader(ds, **kw)
        with pytest.raises(ValueError):
            wud.DataLoader(ds, **kw)
