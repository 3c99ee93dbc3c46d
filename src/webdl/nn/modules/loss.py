"""Loss modules."""
from .. import functional as F
from ..module import Module


def _loss(name, fn, **defaults):
    def __init__(self, reduction="mean", **kw):
        Module.__init__(self)
        self.reduction = reduction
        for k, v in defaults.items():
            object.__setattr__(self, k, kw.pop(k, v))
        if kw:
            raise TypeError(f"{name}: unexpected arguments {sorted(kw)}")

    def forward(self, input, target):  # noqa: A002
        return fn(input, target, reduction=self.reduction,
                  **{k: getattr(self, k) for k in defaults})
    return type(name, (Module,), {"__init__": __init__, "forward": forward})


MSELoss = _loss("MSELoss", F.mse_loss)
L1Loss = _loss("L1Loss", F.l1_loss)
SmoothL1Loss = _loss("SmoothL1Loss", F.smooth_l1_loss, beta=1.0)
HuberLoss = _loss("HuberLoss", F.huber_loss, delta=1.0)
CrossEntropyLoss = _loss("CrossEntropyLoss", F.cross_entropy, weight=None, ignore_index=-100,
                         label_smoothing=0.0)
NLLLoss = _loss("NLLLoss", F.nll_loss, weight=None, ignore_index=-100)
BCELoss = _loss("BCELoss", F.binary_cross_entropy, weight=None)
BCEWithLogitsLoss = _loss("BCEWithLogitsLoss", F.binary_cross_entropy_with_logits, weight=None,
                          pos_weight=None)
