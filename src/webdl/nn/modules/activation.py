"""Activation modules."""
from .. import functional as F
from ..module import Module, Parameter
from ...tensor import ones


def _act(name, fn, repr_fn=lambda self: ""):
    def forward(self, x):
        return fn(self, x)
    return type(name, (Module,), {"forward": forward, "extra_repr": repr_fn})


ReLU = _act("ReLU", lambda self, x: F.relu(x))
Sigmoid = _act("Sigmoid", lambda self, x: F.sigmoid(x))
Tanh = _act("Tanh", lambda self, x: F.tanh(x))
SiLU = _act("SiLU", lambda self, x: F.silu(x))
ReLU6 = _act("ReLU6", lambda self, x: F.relu6(x))
for _cls in (ReLU, Sigmoid, Tanh, SiLU, ReLU6):
    _cls.__init__ = lambda self, inplace=False: Module.__init__(self)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate='{self.approximate}'"


class Softplus(Module):
    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class PReLU(Module):
    def __init__(self, num_parameters=1, init=0.25, device=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(ones(num_parameters, device=device) * init)

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Softmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim if self.dim is not None else (0 if x.ndim in (0, 1, 3)
                                                                     else 1))

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x):
        return F.log_softmax(x, self.dim if self.dim is not None else 1)
