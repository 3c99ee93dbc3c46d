import math

from ..autograd import no_grad
from ..tensor import Tensor


class Optimizer:
    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for g in params:
            self.add_param_group(g)

    def add_param_group(self, group):
        group = dict(group)
        ps = group["params"]
        group["params"] = [ps] if isinstance(ps, Tensor) else list(ps)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: params must be Tensors, got "
                                f"{type(p).__name__}")
            if not p.requires_grad:
                raise ValueError(f"{type(self).__name__}: a parameter of shape "
                                 f"{tuple(p.shape)} does not require grad")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad = p.grad * 0.0

    def _state(self, p):
        return self.state.setdefault(id(p), {})

    def state_dict(self):
        index = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": ids})
        state = {index[k]: dict(v) for k, v in self.state.items() if k in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, sd):
        groups = sd["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved groups don't "
                             "match this optimizer's parameter groups")
        params = [p for g in self.param_groups for p in g["params"]]
        for g, saved in zip(self.param_groups, groups):
            g.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {id(params[i]): dict(v) for i, v in sd["state"].items()}

    def _params(self):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    yield g, p, p.grad


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: invalid lr {lr}, momentum {momentum} or weight_decay "
                             f"{weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    @no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for g, p, d in self._params():
            if g["maximize"]:
                d = -d
            if g["weight_decay"]:
                d = d + p.detach() * g["weight_decay"]
            if g["momentum"]:
                st = self._state(p)
                buf = st.get("momentum_buffer")
                buf = d if buf is None else buf * g["momentum"] + d * (1 - g["dampening"])
                st["momentum_buffer"] = buf
                d = d + buf * g["momentum"] if g["nesterov"] else buf
            new = p.detach() - d * g["lr"]
            if g["momentum"]:           # the new state and parameter in one kernel
                Tensor._realize_all(st["momentum_buffer"], new)
            p._assign(new)
        return loss


class Adam(Optimizer):
    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, maximize=False):
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"{type(self).__name__}: invalid lr {lr}, betas {betas} or eps "
                             f"{eps}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    @no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for g, p, d in self._params():
            if g["maximize"]:
                d = -d
            b1, b2 = g["betas"]
            lr, wd = g["lr"], g["weight_decay"]
            pv = p.detach()
            if wd:
                if self.decoupled:
                    pv = pv * (1 - lr * wd)
                else:
                    d = d + pv * wd
            st = self._state(p)
            t = st.get("step", 0) + 1
            st["step"] = t
            m = st.get("exp_avg")
            v = st.get("exp_avg_sq")
            m = d * (1 - b1) if m is None else m + (d - m) * (1 - b1)
            v = d * d * (1 - b2) if v is None else v * b2 + d * d * (1 - b2)
            st["exp_avg"], st["exp_avg_sq"] = m, v
            if g["amsgrad"]:
                vmax = st.get("max_exp_avg_sq")
                vmax = v if vmax is None else vmax.maximum(v)
                st["max_exp_avg_sq"] = vmax
                v = vmax
            bc1 = 1 - b1 ** t
            bc2 = 1 - b2 ** t
            denom = v.sqrt() / math.sqrt(bc2) + g["eps"]
            new = pv - m / denom * (lr / bc1)
            # the moments and the parameter in one kernel where the backend can
            Tensor._realize_all(*[st[k] for k in ("exp_avg", "exp_avg_sq",
                                                  "max_exp_avg_sq") if k in st], new)
            p._assign(new)
        return loss


class AdamW(Adam):
    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
