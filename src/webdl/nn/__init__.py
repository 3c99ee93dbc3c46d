"""webdl.nn: Module, Parameter, layers, losses, init and functional."""
from .module import Module, Parameter  # noqa: F401
from .modules import *  # noqa: F401,F403 - every layer, as torch.nn exports them
from . import functional, init  # noqa: F401
from . import utils  # noqa: F401
