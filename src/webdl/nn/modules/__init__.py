"""The layers of webdl.nn, each a thin Module over webdl.nn.functional, one module per
family as in PyTorch's ``torch.nn.modules``."""
from .linear import Identity, Linear  # noqa: F401
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d  # noqa: F401
from .activation import (ReLU, SiLU, Mish, Hardswish, Hardsigmoid, SELU, Sigmoid,  # noqa: F401
                         Tanh, Softsign, Tanhshrink, LogSigmoid, Hardtanh, ReLU6, LeakyReLU,
                         ELU, CELU, Threshold, Hardshrink, Softshrink, GELU, Softplus, PReLU,
                         GLU, Softmax, Softmin, LogSoftmax, Softmax2d)
from .container import Sequential, ModuleList, ModuleDict  # noqa: F401
from .pooling import (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, MaxUnpool1d,  # noqa: F401
                      MaxUnpool2d, AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d,
                      AdaptiveMaxPool1d, AdaptiveMaxPool2d)
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d,  # noqa: F401
                            InstanceNorm2d, InstanceNorm3d, GroupNorm, LayerNorm, RMSNorm)
from .dropout import Dropout, Dropout1d, Dropout2d, Dropout3d  # noqa: F401
from .padding import (ZeroPad1d, ZeroPad2d, ZeroPad3d, ConstantPad1d, ConstantPad2d,  # noqa: F401
                      ConstantPad3d, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d,
                      ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, CircularPad1d,
                      CircularPad2d, CircularPad3d)
from .sparse import Embedding  # noqa: F401
from .flatten import Flatten, Unflatten  # noqa: F401
from .vision import (Upsample, UpsamplingNearest2d, UpsamplingBilinear2d,  # noqa: F401
                     PixelShuffle, PixelUnshuffle)
from .loss import (MSELoss, L1Loss, SmoothL1Loss, HuberLoss, CrossEntropyLoss,  # noqa: F401
                   NLLLoss, BCELoss, BCEWithLogitsLoss)
from .rnn import RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell  # noqa: F401
from .attention import MultiheadAttention  # noqa: F401
from .transformer import (Transformer, TransformerEncoder, TransformerDecoder,  # noqa: F401
                          TransformerEncoderLayer, TransformerDecoderLayer)

__all__ = sorted(name for name in dir() if name[:1].isupper())   # the layers, not the files
