"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize."""
from ..autograd import no_grad
from ..replay import Replayed
from ..tensor import Tensor
from .optimizer import (Optimizer, _closure_loss, _commit, _copy, _scalar, _check_flags,
                        _check_range, _replays, _replayed_step)


class SGD(Optimizer):
    replay_reads = ("lr",)

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
        fused = {}
        for g in self.param_groups:
            lr, mom, damp = _scalar(g["lr"]), g["momentum"], g["dampening"]
            wd = _scalar(g["weight_decay"])
            for p, d in self._grads(g):
                if _replays(p):    # a GPU: all parameters in one replayed call
                    fused.setdefault(p.device, []).append((g, (lr, mom, damp, wd), p, d))
                    continue
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
        for rows in fused.values():
            self._fused(rows)
        return loss

    def _fused(self, rows):
        """The step of the parameters ``rows`` (one device) as one call of _sgd_updates:
        their scalars uploaded as one (n, 4) tensor, the call replayed on a GPU from the
        third step (one crossing for every parameter, no Python per op)."""
        static, groups, tensors = [], [], []
        for g, (lr, mom, damp, wd), p, d in rows:
            buf = self.state[p].get("momentum_buffer") if mom != 0 else None
            static.append((g["maximize"], wd != 0, mom != 0, buf is not None, g["nesterov"]))
            groups.append(g)
            tensors += [p, d] + ([buf] if buf is not None else [])

        def scalars():
            return [(_scalar(g["weight_decay"]), g["momentum"], 1 - g["dampening"],
                     -_scalar(g["lr"])) for g in groups]
        out = _replayed_step(_SGD_UPDATES, static, scalars, tensors)
        k = 0
        for g, (_, mom, _, _), p, _ in rows:
            if mom != 0:
                self.state[p]["momentum_buffer"] = out[k + 1]
            p.copy_(out[k])
            k += 2 if mom != 0 else 1


def _sgd_updates(static, s, *ts):
    """The new (parameter[, momentum_buffer]) of each parameter, flat: ``static`` per
    parameter (maximize, weight decay, momentum, a buffer given, nesterov), ``s`` its
    scalars (weight_decay, momentum, 1 - dampening, -lr), ``ts`` its tensors (parameter,
    gradient[, momentum_buffer]). The formulas and order of SGD.step, scalars read from s."""
    out, k = [], 0
    for j, (maximize, decay, momentum, has_buf, nesterov) in enumerate(static):
        p, d = ts[k:k + 2]
        k += 2
        wd, mom, undamp, neg_lr = (s[j, i] for i in range(4))
        if maximize:
            d = -d
        if decay:
            d = d + p * wd
        new = []
        if momentum:
            if has_buf:
                buf = ts[k] * mom + d * undamp
                k += 1
            else:
                buf = d * 1.0
            new.append(buf)
            d = d + buf * mom if nesterov else buf
        new.insert(0, p + d * neg_lr)
        out += new
    Tensor._realize_all(*out)   # the new values of one shape together: a draw per 8
    return out


_SGD_UPDATES = Replayed(_sgd_updates)
