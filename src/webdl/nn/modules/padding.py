"""Padding modules over F.pad: zero, constant, reflection, replication and circular."""
from .. import functional as F
from ..functional._utils import _ntuple
from ..module import Module


class _PadNd(Module):
    _n = 2
    _mode = "constant"

    def __init__(self, padding, value=0.0):
        super().__init__()
        self.padding = _ntuple(padding, 2 * self._n, "padding", type(self).__name__)
        self.value = value

    def forward(self, input):  # noqa: A002
        n = self._n
        if self._mode != "constant" and input.ndim not in (n + 1, n + 2):
            raise ValueError(f"{type(self).__name__}: expected a {n + 1}D or {n + 2}D input, got "
                             f"shape {tuple(input.shape)}")
        if self._mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


def _pads(mode, prefix):
    classes = {}
    for n in (1, 2, 3):
        name = f"{prefix}{n}d"
        classes[name] = type(name, (_PadNd,), {"_n": n, "_mode": mode,
                                               "__init__": lambda self, padding:
                                               _PadNd.__init__(self, padding)})
    return classes


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding, value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


ConstantPad1d = type("ConstantPad1d", (_ConstantPadNd,), {"_n": 1})
ConstantPad2d = type("ConstantPad2d", (_ConstantPadNd,), {"_n": 2})
ConstantPad3d = type("ConstantPad3d", (_ConstantPadNd,), {"_n": 3})
_zero = _pads("constant", "ZeroPad")
ZeroPad1d, ZeroPad2d, ZeroPad3d = _zero["ZeroPad1d"], _zero["ZeroPad2d"], _zero["ZeroPad3d"]
_refl = _pads("reflect", "ReflectionPad")
ReflectionPad1d, ReflectionPad2d, ReflectionPad3d = (_refl["ReflectionPad1d"],
                                                     _refl["ReflectionPad2d"],
                                                     _refl["ReflectionPad3d"])
_repl = _pads("replicate", "ReplicationPad")
ReplicationPad1d, ReplicationPad2d, ReplicationPad3d = (_repl["ReplicationPad1d"],
                                                        _repl["ReplicationPad2d"],
                                                        _repl["ReplicationPad3d"])
_circ = _pads("circular", "CircularPad")
CircularPad1d, CircularPad2d, CircularPad3d = (_circ["CircularPad1d"], _circ["CircularPad2d"],
                                               _circ["CircularPad3d"])
