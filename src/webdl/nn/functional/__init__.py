"""``webdl.nn.functional``: the functional forms of layers, activations and losses.

Everything here is a composite of the primitives in ``webdl.ops``. Where a backend names
an op in ``backend.fused`` (conv2d on WebGL), that op runs as one fused kernel instead
(``webdl.ops.conv``), with the composite as its reference and its backward pass.

One module per family, as in PyTorch's ``torch.nn.modules``: ``activation``, ``linear``,
``conv``, ``pooling``, ``vision`` (interpolate, pixel shuffles, pad), ``dropout``,
``sparse`` (embedding, one_hot), ``normalization``, ``attention``, ``loss``; this package
re-exports them.
"""
from .activation import (relu, sigmoid, tanh, relu6, leaky_relu, gelu, softplus,  # noqa: F401
                         silu, mish, hardsigmoid, hardswish, elu, selu, celu, hardtanh,
                         threshold, hardshrink, softshrink, softsign, tanhshrink, logsigmoid,
                         prelu, glu, softmax, softmin, log_softmax)
from .linear import linear  # noqa: F401
from .conv import (conv1d, conv2d, conv_transpose1d, conv_transpose2d, unfold,  # noqa: F401
                   fold)
from .pooling import (max_pool1d, max_pool2d, avg_pool1d, avg_pool2d,  # noqa: F401
                      adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d,
                      adaptive_max_pool1d, adaptive_max_pool2d, max_unpool1d, max_unpool2d)
from .vision import (interpolate, upsample, upsample_nearest, upsample_bilinear,  # noqa: F401
                     pixel_shuffle, pixel_unshuffle, depth_to_space, space_to_depth, pad)
from .dropout import dropout, dropout1d, dropout2d, dropout3d  # noqa: F401
from .sparse import embedding, one_hot  # noqa: F401
from .normalization import (layer_norm, batch_norm, group_norm, instance_norm,  # noqa: F401
                            rms_norm, normalize)
from .attention import scaled_dot_product_attention  # noqa: F401
from .loss import (mse_loss, l1_loss, smooth_l1_loss, huber_loss, nll_loss,  # noqa: F401
                   cross_entropy, binary_cross_entropy, binary_cross_entropy_with_logits,
                   kl_div)
