"""webdl.optim: PyTorch's optimizers (SGD, Adam, AdamW, Adamax, NAdam, RAdam, Adagrad,
Adadelta, RMSprop) and learning-rate schedulers, with PyTorch's update rules, defaults and
state_dict layout.

Updates are Tensor ops under no_grad, so they run on the parameters' own device."""
from .optimizer import Optimizer, required  # noqa: F401
from .sgd import SGD  # noqa: F401
from .adam import Adam, AdamW, Adamax, NAdam, RAdam  # noqa: F401
from .adaptive import Adagrad, Adadelta, RMSprop  # noqa: F401
from . import lr_scheduler  # noqa: F401

_MISSING = ("ASGD", "LBFGS", "Rprop", "SparseAdam", "Adafactor", "Muon", "swa_utils")


def __getattr__(name):
    if name in _MISSING:
        raise AttributeError(f"webdl.optim.{name}: PyTorch's torch.optim.{name} is not "
                             "implemented in webdl")
    raise AttributeError(f"module 'webdl.optim' has no attribute {name!r}")
