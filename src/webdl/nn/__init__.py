"""webdl.nn: Module, Parameter, layers, losses, init and functional."""
from .module import Module, Parameter  # noqa: F401
from .modules import (Identity, Linear, Conv2d, ConvTranspose2d, ReLU, LeakyReLU, PReLU, GELU,  # noqa: F401
                     ELU, SiLU, ReLU6, Softplus, Sigmoid, Tanh, Softmax, LogSoftmax, Sequential,
                     ModuleList, ModuleDict, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d,
                     BatchNorm1d, BatchNorm2d, LayerNorm, Dropout, Embedding, Flatten, Unflatten,
                     Upsample, PixelShuffle, PixelUnshuffle, MSELoss, L1Loss, SmoothL1Loss,
                     HuberLoss, CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss)
from . import functional, init  # noqa: F401
