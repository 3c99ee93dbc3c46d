"""Per-coordinate adaptive optimizers: Adagrad, Adadelta and RMSprop (momentum, centered),
with PyTorch's update formulas, state layout and defaults."""
from ..autograd import no_grad
from .optimizer import (Optimizer, _closure_loss, _commit, _scalar, _next_step, _host_scalar,
                        _lerp, _zeros, _full, _check_flags, _check_range, _neg_lr,
                        _step_scalars)


def _grad(group, p, d, wd):
    if group["maximize"]:
        d = -d
    if wd != 0:
        d = d + p.detach() * wd
    return d


class Adagrad(Optimizer):
    replay_reads = ("lr",)     # a host input of a recorded step (_step_scalars)

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        _check_range("Adagrad", **{
            "learning rate": (lr, _scalar(lr) >= 0),
            "lr_decay value": (lr_decay, lr_decay >= 0),
            "weight_decay value": (weight_decay, weight_decay >= 0),
            "initial_accumulator_value value": (initial_accumulator_value,
                                                initial_accumulator_value >= 0),
            "epsilon value": (eps, eps >= 0)})
        _check_flags("Adagrad", differentiable)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))
        for g in self.param_groups:     # PyTorch makes Adagrad's state up front
            for p in g["params"]:
                self._init_state(g, p)

    def _init_state(self, group, p):
        st = self.state[p]
        if not st:
            st["step"] = _host_scalar(0)
            st["sum"] = _full(p, group["initial_accumulator_value"])
        return st

    @no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for g in self.param_groups:
            wd, eps = _scalar(g["weight_decay"]), g["eps"]
            items = [(g, p, d, self._init_state(g, p)) for p, d in self._grads(g)]
            for (_, p, d, st), (neg_clr,) in zip(items, _step_scalars(items, _adagrad_lr)):
                d = _grad(g, p, d, wd)
                s = st["sum"] + d * d
                st["sum"] = s
                _commit(p, p.detach() + d * neg_clr / (s.sqrt() + eps), s)
        return loss


def _adagrad_lr(g, st):
    """Adagrad's decayed learning rate, negated, for its next step (which it counts)."""
    t = _next_step(st)
    return (-(_scalar(g["lr"]) / (1 + (t - 1) * g["lr_decay"])),)


class Adadelta(Optimizer):
    replay_reads = ("lr",)     # a host input of a recorded step (_step_scalars)

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check_range("Adadelta", **{"learning rate": (lr, _scalar(lr) >= 0),
                                    "rho value": (rho, 0 <= rho <= 1),
                                    "epsilon value": (eps, eps >= 0),
                                    "weight_decay value": (weight_decay, weight_decay >= 0)})
        _check_flags("Adadelta", differentiable)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, capturable=capturable,
                                      foreach=foreach, differentiable=differentiable))

    @no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for g in self.param_groups:
            wd, eps, rho = _scalar(g["weight_decay"]), g["eps"], g["rho"]
            items = []
            for p, d in self._grads(g):
                st = self.state[p]
                if not st:
                    st["step"] = _host_scalar(0)
                    st["square_avg"], st["acc_delta"] = _zeros(p), _zeros(p)
                items.append((g, p, d, st))
            for (_, p, d, st), (neg_lr,) in zip(items, _step_scalars(items, _neg_lr)):
                d = _grad(g, p, d, wd)
                sq = st["square_avg"] * rho + d * d * (1 - rho)
                # delta = sqrt(acc + eps) / sqrt(sq + eps) * d, written through the ratio
                # (equal to rounding) so that delta^2 doesn't repeat delta's expression:
                # the fused step stays within the WebGL backend's size limit
                ratio = (st["acc_delta"] + eps) / (sq + eps)
                delta = ratio.sqrt() * d
                acc = st["acc_delta"] * rho + ratio * (d * d) * (1 - rho)
                st["square_avg"], st["acc_delta"] = sq, acc
                _commit(p, p.detach() + delta * neg_lr, sq, acc)
        return loss


class RMSprop(Optimizer):
    replay_reads = ("lr",)     # a host input of a recorded step (_step_scalars)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_range("RMSprop", **{"learning rate": (lr, _scalar(lr) >= 0),
                                   "epsilon value": (eps, eps >= 0),
                                   "momentum value": (momentum, momentum >= 0),
                                   "weight_decay value": (weight_decay, weight_decay >= 0),
                                   "alpha value": (alpha, alpha >= 0)})
        _check_flags("RMSprop", differentiable)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    @no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for g in self.param_groups:
            wd, eps = _scalar(g["weight_decay"]), g["eps"]
            alpha, mom = g["alpha"], g["momentum"]
            items = []
            for p, d in self._grads(g):
                st = self.state[p]
                if not st:
                    st["step"] = _host_scalar(0)
                    st["square_avg"] = _zeros(p)
                if mom > 0 and "momentum_buffer" not in st:
                    st["momentum_buffer"] = _zeros(p)
                if g["centered"] and "grad_avg" not in st:
                    st["grad_avg"] = _zeros(p)
                items.append((g, p, d, st))
            for (_, p, d, st), (neg_lr,) in zip(items, _step_scalars(items, _neg_lr)):
                d = _grad(g, p, d, wd)
                sq = st["square_avg"] * alpha + d * d * (1 - alpha)
                st["square_avg"] = sq
                new_state = [sq]
                if g["centered"]:
                    ga = _lerp(st["grad_avg"], d, 1 - alpha)
                    st["grad_avg"] = ga
                    new_state.append(ga)
                    avg = (sq - ga * ga).sqrt() + eps
                else:
                    avg = sq.sqrt() + eps
                if mom > 0:
                    buf = st["momentum_buffer"] * mom + d / avg
                    st["momentum_buffer"] = buf
                    new_state.append(buf)
                    new = p.detach() + buf * neg_lr
                else:
                    new = p.detach() + d * neg_lr / avg
                _commit(p, new, *new_state)
        return loss
