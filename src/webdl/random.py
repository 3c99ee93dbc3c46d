"""The random state: one numpy Generator on the host, so every backend draws the same
numbers for the same seed (random tensors are made on the host and uploaded)."""
import numpy as np

_state = {"gen": np.random.default_rng(0)}


def manual_seed(seed):
    _state["gen"] = np.random.default_rng(int(seed))
    return _state["gen"]


def seed():
    return manual_seed(np.random.SeedSequence().entropy % (2 ** 63))


def generator(g=None):
    return g if g is not None else _state["gen"]


class Generator:
    """A private random stream: ``webdl.Generator().manual_seed(1)``."""

    def __init__(self, device=None):
        self._gen = np.random.default_rng()

    def manual_seed(self, s):
        self._gen = np.random.default_rng(int(s))
        return self

    def random(self, *a, **k):
        return self._gen.random(*a, **k)

    def standard_normal(self, *a, **k):
        return self._gen.standard_normal(*a, **k)

    def integers(self, *a, **k):
        return self._gen.integers(*a, **k)

    def permutation(self, *a, **k):
        return self._gen.permutation(*a, **k)
