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
    """A private random stream: ``webdl.Generator().manual_seed(1)``. It draws with
    numpy's Generator methods (``random``, ``integers``, ``permutation``, ``choice``...)."""

    def __init__(self, device=None):
        self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self._gen = np.random.default_rng(self._seed)

    def manual_seed(self, s):
        self._seed = int(s)
        self._gen = np.random.default_rng(self._seed)
        return self

    def initial_seed(self):
        return self._seed

    def seed(self):
        return self.manual_seed(np.random.SeedSequence().entropy % (2 ** 63)).initial_seed()

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._gen, name)
