"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize."""
from ..autograd import no_grad
from .optimizer import Optimizer, _closure_loss, _commit, _copy, _scalar, _check_flags, _check_range


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        _check_range("SGD", **{"learning rate": (lr, _scalar(lr) >= 0),
                               "momentum value": (momentum, momentum >= 0),
                               "weight_decay value": (weight_decay, weight_decay >= 0)})
        _check_flags("SGD", differentiable)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    @no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for g in self.param_groups:
            lr, mom, damp = _scalar(g["lr"]), g["momentum"], g["dampening"]
            wd = _scalar(g["weight_decay"])
            for p, d in self._grads(g):
                if g["maximize"]:
                    d = -d
                if wd != 0:
                    d = d + p.detach() * wd
                if mom != 0:
                    st = self.state[p]
                    buf = st.get("momentum_buffer")
                    buf = _copy(d) if buf is None else buf * mom + d * (1 - damp)
                    st["momentum_buffer"] = buf
                    d = d + buf * mom if g["nesterov"] else buf
                    _commit(p, p.detach() + d * -lr, buf)
                else:
                    _commit(p, p.detach() + d * -lr)
        return loss
