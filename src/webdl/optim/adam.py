"""The Adam family: Adam (amsgrad, decoupled weight decay), AdamW, Adamax, NAdam, RAdam,
with PyTorch's update formulas, state layout and defaults."""
import math
import warnings

import numpy as np

from ..autograd import no_grad
from ..replay import Replayed
from ..tensor import Tensor
from .optimizer import (Optimizer, _closure_loss, _commit, _scalar, _next_step, _host_scalar,
                        _lerp, _zeros, _check_flags, _check_range, _replays,
                        _replayed_step, _step_scalars)


def _check_adam_args(name, lr, betas, eps, weight_decay):
    b1, b2 = (_scalar(b) for b in betas)
    _check_range(name, **{"learning rate": (lr, _scalar(lr) >= 0),
                          "epsilon value": (eps, eps >= 0),
                          "beta parameter at index 0": (b1, 0 <= b1 < 1),
                          "beta parameter at index 1": (b2, 0 <= b2 < 1),
                          "weight_decay value": (weight_decay, weight_decay >= 0)})


def _grad_and_param(group, p, d, lr, wd, decoupled, keep=None):
    """The gradient after ``maximize`` and L2 weight decay, and the parameter's value after
    decoupled weight decay (PyTorch's order of the two); ``keep``: the decoupled decay's
    factor, 1 - lr * wd, where the caller has it (a host input of a recorded step)."""
    pv = p.detach()
    if group["maximize"]:
        d = -d
    if wd != 0:
        if decoupled:
            pv = pv * (1 - lr * wd if keep is None else keep)
        else:
            d = d + pv * wd
    return d, pv



# On WebGL's float16 path the second moment (1 - beta2) * grad**2 underflows float16 (below
# 6e-8) for gradients under about 8e-3; with a smaller eps the step m / (sqrt(v) + eps)
# then blows up (tests/test_half_browser.py: the CNN's loss was NaN within 15 steps). There
# the Adam family uses at least this eps (the usual choice for float16 training), and says so.
HALF_MIN_EPS = 1e-4


def _step_eps(opt, p, eps):
    """The eps a step of ``p`` uses: ``eps``, or HALF_MIN_EPS on the float16 path where eps is
    smaller (warned once per optimizer)."""
    if eps >= HALF_MIN_EPS or p.device.backend.storage != "float16":
        return eps
    if not getattr(opt, "_half_eps_said", False):
        opt._half_eps_said = True
        warnings.warn(f"{type(opt).__name__}: this GPU stores float16 (no float32 render "
                      f"targets), where the second moment underflows for small gradients "
                      f"and a step with eps={eps:g} blows up; it uses eps={HALF_MIN_EPS:g} "
                      f"(pass eps >= {HALF_MIN_EPS:g} to say so yourself)", stacklevel=4)
    return HALF_MIN_EPS


def _moment_steps(opt, second, **host):
    """Each parameter with a gradient, as (group, (b1, b2, lr, wd, eps), parameter,
    gradient, state), the state started as PyTorch starts it ('step', the ``host``
    scalars, 'exp_avg' and the ``second`` moment, in that order). The Adam family's steps
    loop over this."""
    for g in opt.param_groups:
        b1, b2 = (_scalar(b) for b in g["betas"])
        scalars = (b1, b2, _scalar(g["lr"]), _scalar(g["weight_decay"]))
        for p, d in opt._grads(g):
            st = opt.state[p]
            eps = _step_eps(opt, p, g["eps"]) if second == "exp_avg_sq" else g["eps"]
            if not st:
                st["step"] = _host_scalar(0)
                for k, v in host.items():
                    st[k] = _host_scalar(v)
                st["exp_avg"], st[second] = _zeros(p), _zeros(p)
            yield g, scalars + (eps,), p, d, st

class Adam(Optimizer):
    replay_reads = ("lr",)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        name = type(self).__name__
        _check_adam_args(name, lr, betas, eps, weight_decay)
        _check_flags(name, differentiable)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable,
                                      fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    @no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        fused = {}
        for g, (b1, b2, lr, wd, eps), p, d, st in _moment_steps(self, "exp_avg_sq"):
            if g["amsgrad"] and "max_exp_avg_sq" not in st:
                st["max_exp_avg_sq"] = _zeros(p)
            if _replays(p):    # a GPU: all parameters in one replayed call
                fused.setdefault(p.device, []).append((g, p, d, st))
                continue
            t = _next_step(st)
            d, pv = _grad_and_param(g, p, d, lr, wd, g["decoupled_weight_decay"])
            m = _lerp(st["exp_avg"], d, 1 - b1)
            v = st["exp_avg_sq"] * b2 + d * d * (1 - b2)
            st["exp_avg"], st["exp_avg_sq"] = m, v
            new_state = [m, v]
            if g["amsgrad"]:
                v = st["max_exp_avg_sq"].maximum(v)
                st["max_exp_avg_sq"] = v
                new_state.append(v)
            step_size = lr / (1 - b1 ** t)
            denom = v.sqrt() / (1 - b2 ** t) ** 0.5 + eps
            _commit(p, pv + m / denom * -step_size, *new_state)
        for rows in fused.values():
            _adam_fused(rows)
        return loss


def _adam_fused(rows):
    """Adam's step of the parameters ``rows`` (one device) as one call of
    ``_adam_updates``: their scalars (the step counts advanced, the hyperparameters read
    then) uploaded as one (n, 7) tensor, the call replayed on a GPU from the third step (one
    crossing for every parameter, no Python per op)."""
    static, hosts, tensors = [], [], []
    for g, p, d, st in rows:
        wd, decoupled = _scalar(g["weight_decay"]), g["decoupled_weight_decay"]
        decay = 0 if wd == 0 else (2 if decoupled else 1)
        small = abs(1 - _scalar(g["betas"][0])) < 0.5        # _lerp's two forms
        static.append((g["amsgrad"], g["maximize"], decay, small))
        hosts.append((g, st, decay, small))
        tensors += [p, d, st["exp_avg"], st["exp_avg_sq"]]
        if g["amsgrad"]:
            tensors.append(st["max_exp_avg_sq"])

    def scalars():
        out = []
        for g, st, decay, small in hosts:
            b1, b2 = (_scalar(b) for b in g["betas"])
            lr, wd, t = _scalar(g["lr"]), _scalar(g["weight_decay"]), _next_step(st)
            out.append((0.0 if decay == 0 else (1 - lr * wd if decay == 2 else wd),
                        1 - b1 if small else 1.0 - (1 - b1), b2, 1 - b2,
                        (1 - b2 ** t) ** 0.5, g["eps"], -(lr / (1 - b1 ** t))))
        return out
    out = _replayed_step(_ADAM_UPDATES, static, scalars, tensors,
                         [(st, "step") for _, st, _, _ in hosts])
    k = 0
    for g, p, _, st in rows:
        st["exp_avg"], st["exp_avg_sq"] = out[k + 1], out[k + 2]
        if g["amsgrad"]:
            st["max_exp_avg_sq"] = out[k + 3]
        p.copy_(out[k])
        k += 4 if g["amsgrad"] else 3


def _adam_updates(static, s, *ts):
    """The new (parameter, exp_avg, exp_avg_sq[, max_exp_avg_sq]) of each parameter, flat:
    ``static`` per parameter (amsgrad, maximize, weight decay 0/L2/decoupled, _lerp's
    form), ``s`` its scalars (see _adam_fused), ``ts`` its tensors (parameter, gradient,
    exp_avg, exp_avg_sq[, max_exp_avg_sq]). The same formulas, in the same order, as the
    step written op by op in Adam.step, with the scalars read from ``s``."""
    out, k = [], 0
    for j, (amsgrad, maximize, decay, small) in enumerate(static):
        pv, d, m, v = ts[k:k + 4]
        k += 4
        decay_s, w, b2, c2, bc2, eps, neg_step = (s[j, i] for i in range(7))
        if maximize:
            d = -d
        if decay == 1:
            d = d + pv * decay_s
        elif decay == 2:
            pv = pv * decay_s
        m = m + (d - m) * w if small else d - (d - m) * w
        v = v * b2 + d * d * c2
        new = [m, v]
        if amsgrad:
            v = ts[k].maximum(v)
            k += 1
            new.append(v)
        new.insert(0, pv + m / (v.sqrt() / bc2 + eps) * neg_step)
        out += new
    Tensor._realize_all(*out)   # the new values of one shape together: a draw per 8
    return out


_ADAM_UPDATES = Replayed(_adam_updates)


class AdamW(Adam):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def _setstate_groups(self):
        super()._setstate_groups()
        for g in self.param_groups:     # AdamW is always decoupled, whatever was saved
            g["decoupled_weight_decay"] = True


class Adamax(Optimizer):
    replay_reads = ("lr",)     # a host input of a recorded step (_step_scalars)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_adam_args("Adamax", lr, betas, eps, weight_decay)
        _check_flags("Adamax", differentiable)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    @no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        steps = list(_moment_steps(self, "exp_inf"))
        items = [(g, p, d, st) for g, _, p, d, st in steps]
        for (g, (b1, b2, lr, wd, eps), p, d, st), (neg_clr,) in zip(
                steps, _step_scalars(items, _adamax_lr)):
            d, pv = _grad_and_param(g, p, d, lr, wd, False)
            m = _lerp(st["exp_avg"], d, 1 - b1)
            u = (st["exp_inf"] * b2).maximum(d.abs() + eps)
            st["exp_avg"], st["exp_inf"] = m, u
            _commit(p, pv + m / u * neg_clr, m, u)
        return loss


def _adamax_lr(g, st):
    """Adamax's learning rate over its bias correction, negated, for its next step (which it
    counts)."""
    t = _next_step(st)
    return (-(_scalar(g["lr"]) / (1 - _scalar(g["betas"][0]) ** t)),)


class NAdam(Optimizer):
    replay_reads = ("lr",)     # a host input of a recorded step (_step_scalars)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_adam_args("NAdam", lr, betas, eps, weight_decay)
        _check_range("NAdam", **{"momentum_decay value": (momentum_decay,
                                                          momentum_decay >= 0)})
        _check_flags("NAdam", differentiable)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable))

    @no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        steps = list(_moment_steps(self, "exp_avg_sq", mu_product=1.0))
        items = [(g, p, d, st) for g, _, p, d, st in steps]
        rows = _step_scalars(items, _nadam_scalars, ("step", "mu_product"))
        for (g, (b1, b2, lr, wd, eps), p, d, st), (bc2, c_grad, c_mom, keep) in zip(steps, rows):
            d, pv = _grad_and_param(g, p, d, lr, wd, g["decoupled_weight_decay"], keep)
            m = _lerp(st["exp_avg"], d, 1 - b1)
            v = st["exp_avg_sq"] * b2 + d * d * (1 - b2)
            st["exp_avg"], st["exp_avg_sq"] = m, v
            denom = (v / bc2).sqrt() + eps
            # PyTorch adds the gradient and the momentum terms in two addcdiv_ calls;
            # one quotient is the same to rounding and keeps the fused expression
            # within the WebGL backend's size limit (one draw per parameter)
            _commit(p, pv + (d * c_grad + m * c_mom) / denom, m, v)
        return loss


def _nadam_scalars(g, st):
    """NAdam's scalars for its next step, which it counts, its momentum product advanced:
    the second moment's bias correction, the gradient's and the momentum's coefficients and
    the decoupled weight decay's factor."""
    t = _next_step(st)
    b1, b2 = (_scalar(b) for b in g["betas"])
    lr, psi = _scalar(g["lr"]), g["momentum_decay"]
    mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
    mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
    # the product is a float32 scalar in PyTorch: keep its rounding
    mu_product = float(np.float32(_scalar(st["mu_product"])) * np.float32(mu))
    st["mu_product"] = _host_scalar(mu_product)
    return (1 - b2 ** t, -lr * (1.0 - mu) / (1.0 - mu_product),
            -lr * mu_next / (1.0 - mu_product * mu_next), 1 - lr * _scalar(g["weight_decay"]))


class RAdam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_adam_args("RAdam", lr, betas, eps, weight_decay)
        _check_flags("RAdam", differentiable)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    @no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for g, (b1, b2, lr, wd, eps), p, d, st in _moment_steps(self, "exp_avg_sq"):
            t = _next_step(st)
            d, pv = _grad_and_param(g, p, d, lr, wd, g["decoupled_weight_decay"])
            m = _lerp(st["exp_avg"], d, 1 - b1)
            v = st["exp_avg_sq"] * b2 + d * d * (1 - b2)
            st["exp_avg"], st["exp_avg_sq"] = m, v
            bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
            rho_inf = 2 / (1 - b2) - 1
            rho_t = rho_inf - 2 * t * (b2 ** t) / bc2
            if rho_t > 5.0:         # the variance is tractable: rectified adaptive step
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                                 ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                # PyTorch: m / bc1 * lr * adaptive * rect; the scalars folded into one
                # (equal to rounding) keep the fused expression within WebGL's limit
                update = m * (lr * rect / bc1) * (bc2 ** 0.5 / (v.sqrt() + eps))
            else:
                update = m / bc1 * lr
            _commit(p, pv - update, m, v)
        return loss
