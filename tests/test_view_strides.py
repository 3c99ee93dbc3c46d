"""storage.view_strides, PyTorch's rule for ``view`` (webdl's views, and the GPU backends'
reads of a reshaped view in place): the strides it gives read the same elements numpy's
reshape does, and it finds strides exactly where numpy reshapes without a copy."""
import numpy as np

from webdl.storage import view_strides


def _factor(n, rng):
    out = []
    while n > 1:
        d = int(rng.choice([d for d in range(2, n + 1) if n % d == 0]))
        out.append(d)
        n //= d
    return out


def test_view_strides_against_numpy():
    rng = np.random.default_rng(0)
    composed = 0
    for _ in range(2000):
        shape = tuple(int(x) for x in rng.integers(1, 4, rng.integers(1, 5)))
        base = np.arange(2 * int(np.prod(shape)), dtype=np.int64)
        a = base[::2].reshape(shape)                # a strided source
        v = a.transpose(rng.permutation(a.ndim))
        if v.shape[0] > 1 and rng.random() < 0.5:
            v = v[1:]
        new = _factor(v.size, rng)
        if rng.random() < 0.3:
            new.insert(int(rng.integers(0, len(new) + 1)), 1)
        new = tuple(new) or (1,)
        st = view_strides(v.shape, [s // 8 for s in v.strides], new)
        off = (v.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // 8
        try:
            no_copy = np.shares_memory(v.view().reshape(new, copy=False), base)
        except (ValueError, TypeError):
            no_copy = False
        assert (st is not None) == no_copy, (v.shape, v.strides, new)
        if st is not None:
            composed += 1
            at = off + np.indices(new).reshape(len(new), -1).T @ np.array(st)
            assert np.array_equal(base[at], v.reshape(-1)), (v.shape, new, st)
    assert composed > 500


def test_view_strides_edges():
    assert view_strides((2, 3), (1, 2), (6,)) is None       # a transpose doesn't flatten
    assert view_strides((2, 3), (3, 1), (3, 2)) == (2, 1)
    assert view_strides((2, 1, 3), (3, 99, 1), (6, 1)) == (1, 1)
