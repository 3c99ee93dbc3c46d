"""webdl.optim: SGD, Adam, AdamW and learning-rate schedulers (PyTorch's update rules).

Updates are Tensor ops under no_grad, so they run on the parameters' own device."""
from .optimizer import Optimizer, SGD, Adam, AdamW  # noqa: F401
from . import lr_scheduler  # noqa: F401
