"""Storage semantics against PyTorch, case by case (the cases: tests/semantics_cases.py)."""
import pytest
import torch

import webdl

import semantics_cases as sc


@pytest.mark.parametrize("name", sorted(sc.CASES))
def test_semantics_like_torch(name):
    fn = sc.CASES[name]
    problem = sc.agree(name, sc.outcome(fn, webdl), sc.outcome(fn, torch))
    assert problem is None, problem


def test_writes_into_views_and_roll_run_only_the_ops_they_need():
    """``x[:, 0] = 5`` runs the view (slice, reshape), the number broadcast to it (reshape,
    expand) and its placing into the base (the value reshaped back, the slice undone as a
    mask and the value placed, a where): the view's steps are not re-applied to the base
    where only their shapes are needed, and the view written takes the value rather than
    re-reading the new base. roll is two slices placed and a where on a broadcast mask.
    The values are PyTorch's (the semantics cases check them against it)."""
    from webdl.backends import device
    backend = device("cpu").backend
    calls, orig = [], backend.run
    backend.run = lambda *a, **k: calls.append(a[0].name) or orig(*a, **k)
    try:
        x = webdl.zeros(3, 4)
        x[:, 0] = 5
        write = list(calls)
        i = webdl.arange(12).reshape(3, 4)
        calls.clear()
        y = webdl.roll(i, 1, 1)
        roll = list(calls)
        z = webdl.zeros(2, 3, 4)
        calls.clear()
        z.permute(2, 0, 1)[1:3, 0].fill_(2)     # a slice under a permute
        nested = list(calls)
    finally:
        backend.run = orig
    assert write == ["slice", "reshape", "reshape", "expand", "reshape", "unslice",
                     "unslice", "where"], write
    assert roll == ["slice", "unslice", "slice", "unslice", "where"], roll
    # the view (permute, slice, reshape), the value (reshape, expand), the base permuted
    # for the values before the slice, then reshape, slice and permute undone
    assert nested == ["permute", "slice", "reshape", "reshape", "expand", "permute", "reshape",
                      "unslice", "unslice", "where", "permute"], nested
    tz = torch.zeros(2, 3, 4)
    tz.permute(2, 0, 1)[1:3, 0].fill_(2)
    assert x[:, 0].tolist() == [5.0] * 3 and x.sum().item() == 15.0
    assert y.tolist() == torch.roll(torch.arange(12).reshape(3, 4), 1, 1).tolist()
    assert z.tolist() == tz.tolist()
