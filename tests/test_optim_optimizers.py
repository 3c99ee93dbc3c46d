"""Every optimizer and flag against PyTorch: parameters after 10 steps, the state dict's
layout and values, state dict round trips (webdl -> webdl, PyTorch -> webdl, webdl ->
PyTorch), parameter groups, zero_grad and closures."""
import copy

import numpy as np
import pytest
import torch

import webdl

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.05, weight_decay=0.5, eps=1e-6, amsgrad=True)),
    ("AdamW", dict(lr=0.01, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.7, 0.95), weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.1)),     # rho_t > 5 from step 6
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2)),
    ("Adagrad", dict(lr=0.1, eps=1e-6, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.05, eps=1e-4)),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for n, kw in CONFIGS]


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return ([rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (4,), (2, 3, 2))],
            [rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (4,), (2, 3, 2))])


def _loss(m, params, targets):
    """A loss whose gradients change with the parameters (and one parameter that gets no
    gradient in odd steps would need the graph to skip it: all take part)."""
    total = 0
    for p, t in zip(params, targets):
        t = m.tensor(t)
        total = total + ((p - t) ** 2 * t.abs()).sum() + (p * 0.5).sin().sum()
    return total


def _make(m, p0, name, kw, groups=False):
    params = [m.tensor(a, requires_grad=True) for a in p0]
    if groups:      # two groups, the second with its own lr
        spec = [{"params": params[:2]}, {"params": params[2:], "lr": kw.get("lr", 1e-2) * 0.5}]
    else:
        spec = params
    return params, getattr(m.optim, name)(spec, **kw)


def _run(m, params, opt, targets, steps):
    for _ in range(steps):
        opt.zero_grad()
        _loss(m, params, targets).backward()
        opt.step()


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy()


def _assert_params(pw, pt, rtol=1e-5):
    for a, b in zip(pw, pt):
        np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_ten_steps_match_torch(name, kw):
    p0, targets = _data()
    pw, ow = _make(webdl, p0, name, kw)
    pt, ot = _make(torch, p0, name, kw)
    _run(webdl, pw, ow, targets, 10)
    _run(torch, pt, ot, targets, 10)
    _assert_params(pw, pt)
    _assert_state_matches(ow.state_dict(), ot.state_dict())


@pytest.mark.parametrize("name,kw", CONFIGS[::3], ids=IDS[::3])
def test_param_groups_match_torch(name, kw):
    p0, targets = _data(1)
    pw, ow = _make(webdl, p0, name, kw, groups=True)
    pt, ot = _make(torch, p0, name, kw, groups=True)
    _run(webdl, pw, ow, targets, 10)
    _run(torch, pt, ot, targets, 10)
    _assert_params(pw, pt)


def _assert_state_matches(sw, st):
    """Same layout (keys, groups, indices) and the same values."""
    assert sw["param_groups"] == st["param_groups"]
    assert sorted(sw["state"]) == sorted(st["state"])
    for i, s in st["state"].items():
        assert list(sw["state"][i]) == list(s), f"state keys of parameter {i}"
        for k, v in s.items():
            w = sw["state"][i][k]
            assert isinstance(w, webdl.Tensor)
            if k == "step":
                assert w.device.type == "cpu" and w.dtype == webdl.float32 and w.shape == ()
            scale = max(1.0, float(np.abs(_np(v)).max()))   # a sum of several steps can
            np.testing.assert_allclose(_np(w), _np(v), rtol=1e-5, atol=1e-6 * scale,  # cancel
                                       err_msg=f"state[{i}][{k!r}]")


def _to_webdl(v):
    if isinstance(v, torch.Tensor):
        return webdl.tensor(v.detach().numpy())
    if isinstance(v, dict):
        return {k: _to_webdl(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_to_webdl(x) for x in v]
    return v


def _to_torch(v):
    if isinstance(v, webdl.Tensor):
        return torch.tensor(v.detach().numpy())
    if isinstance(v, dict):
        return {k: _to_torch(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_to_torch(x) for x in v]
    return v


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_state_dict_round_trip(name, kw):
    """Save after 5 steps, load into a fresh optimizer on copies of the parameters,
    continue 5 steps: the same as 10 uninterrupted steps, bit for bit."""
    p0, targets = _data(2)
    pa, oa = _make(webdl, p0, name, kw, groups=True)
    _run(webdl, pa, oa, targets, 5)
    sd = oa.state_dict()
    pb, ob = _make(webdl, [_np(p) for p in pa], name, kw, groups=True)
    ob.load_state_dict(sd)
    assert ob.state_dict()["param_groups"] == oa.state_dict()["param_groups"]
    _run(webdl, pa, oa, targets, 5)
    _run(webdl, pb, ob, targets, 5)
    for a, b in zip(pa, pb):
        np.testing.assert_array_equal(_np(a), _np(b))


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_load_torch_state_dict_and_back(name, kw):
    """A PyTorch optimizer's state dict, converted to webdl tensors, continues in webdl as
    it does in PyTorch; a webdl state dict converted to torch tensors continues in PyTorch
    as it does in webdl."""
    p0, targets = _data(3)
    pt, ot = _make(torch, p0, name, kw, groups=True)
    _run(torch, pt, ot, targets, 5)
    pw, ow = _make(webdl, [_np(p) for p in pt], name, kw, groups=True)
    ow.load_state_dict(_to_webdl(copy.deepcopy(ot.state_dict())))
    _run(torch, pt, ot, targets, 5)
    _run(webdl, pw, ow, targets, 5)
    _assert_params(pw, pt)
    # and back: webdl's state into a fresh PyTorch optimizer
    pt2, ot2 = _make(torch, [_np(p) for p in pw], name, kw, groups=True)
    ot2.load_state_dict(_to_torch(ow.state_dict()))
    _run(torch, pt2, ot2, targets, 5)
    _run(webdl, pw, ow, targets, 5)
    _assert_params(pw, pt2)


def test_load_unconverted_torch_state_dict():
    """A state dict holding torch tensors (torch.load of a PyTorch checkpoint) loads: its
    arrays become webdl tensors."""
    p0, targets = _data(4)
    pt, ot = _make(torch, p0, "Adam", dict(lr=0.01))
    _run(torch, pt, ot, targets, 3)
    pw, ow = _make(webdl, [_np(p) for p in pt], "Adam", dict(lr=0.01))
    ow.load_state_dict(copy.deepcopy(ot.state_dict()))
    assert all(isinstance(v, webdl.Tensor) for s in ow.state.values() for v in s.values())
    _run(torch, pt, ot, targets, 3)
    _run(webdl, pw, ow, targets, 3)
    _assert_params(pw, pt)


def test_load_state_dict_mismatch_errors():
    a, b = webdl.zeros(2, requires_grad=True), webdl.zeros(3, requires_grad=True)
    sd = webdl.optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        webdl.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        webdl.optim.SGD([a], lr=0.1).load_state_dict(sd)


def test_state_is_keyed_by_parameter():
    p0, targets = _data()
    pw, ow = _make(webdl, p0, "Adam", {})
    _run(webdl, pw, ow, targets, 2)
    assert set(ow.state[pw[0]]) == {"step", "exp_avg", "exp_avg_sq"}
    assert ow.state[pw[0]]["step"].item() == 2.0


def test_defaults_and_group_keys_match_torch():
    for name in ("SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adagrad", "Adadelta",
                 "RMSprop"):
        ow = getattr(webdl.optim, name)([webdl.zeros(2, requires_grad=True)])
        ot = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
        assert ow.defaults == ot.defaults, name
        assert list(ow.param_groups[0]) == list(ot.param_groups[0]), name
        assert repr(ow) == repr(ot), name


def test_add_param_group_like_torch():
    a, b = webdl.ones(2, requires_grad=True), webdl.ones(3, requires_grad=True)
    ta, tb = torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)
    ow = webdl.optim.SGD([a], lr=0.1, momentum=0.9)
    ot = torch.optim.SGD([ta], lr=0.1, momentum=0.9)
    ow.add_param_group({"params": b, "lr": 0.01})
    ot.add_param_group({"params": tb, "lr": 0.01})
    assert ow.param_groups[1]["params"] == [b] and ow.param_groups[1]["momentum"] == 0.9
    for _ in range(3):
        for o, ps, m in ((ow, (a, b), webdl), (ot, (ta, tb), torch)):
            o.zero_grad()
            (ps[0].pow(2).sum() + ps[1].pow(3).sum()).backward()
            o.step()
    _assert_params([a, b], [ta, tb])
    with pytest.raises(ValueError, match="more than one parameter group"):
        ow.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="ordered collections"):
        ow.add_param_group({"params": {webdl.ones(1, requires_grad=True)}})
    with pytest.raises(ValueError, match="non-leaf"):
        ow.add_param_group({"params": [a * 2]})
    with pytest.raises(TypeError, match="should be an iterable of Tensors"):
        webdl.optim.SGD(a)


def test_frozen_parameters_are_allowed_and_skipped():
    """As in PyTorch, an optimizer may hold parameters that don't require grad (a frozen
    layer): they get no gradient, so step leaves them alone."""
    net = webdl.nn.Sequential(webdl.nn.Linear(3, 4), webdl.nn.Linear(4, 1))
    net[0].weight.requires_grad_(False)
    before = net[0].weight.detach().numpy().copy()
    opt = webdl.optim.Adam(net.parameters(), lr=0.1)
    net(webdl.randn(5, 3)).sum().backward()
    opt.step()
    np.testing.assert_array_equal(net[0].weight.detach().numpy(), before)
    assert len(opt.state) == 3


def test_named_parameters():
    net = webdl.nn.Linear(3, 2)
    opt = webdl.optim.SGD(net.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]


def test_zero_grad():
    p = webdl.ones(2, requires_grad=True)
    opt = webdl.optim.SGD([p], lr=0.1, momentum=0.9)
    (p * 3).sum().backward()
    opt.step()
    opt.zero_grad()
    assert p.grad is None                       # set_to_none=True by default
    (p * 3).sum().backward()
    g = p.grad
    opt.step()
    buf = opt.state[p]["momentum_buffer"].numpy().copy()
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and p.grad.tolist() == [0.0, 0.0]    # zeroed in place
    np.testing.assert_array_equal(opt.state[p]["momentum_buffer"].numpy(), buf)


def test_first_momentum_buffer_does_not_alias_grad():
    p = webdl.ones(2, requires_grad=True)
    opt = webdl.optim.SGD([p], lr=0.1, momentum=0.9)
    (p * 3).sum().backward()
    opt.step()
    opt.zero_grad(set_to_none=False)
    assert opt.state[p]["momentum_buffer"].tolist() == [3.0, 3.0]


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_closure_runs_with_grad_enabled(name):
    p0, targets = _data()
    pw, ow = _make(webdl, p0, name, dict(lr=0.01))
    pt, ot = _make(torch, p0, name, dict(lr=0.01))
    for m, ps, o in ((webdl, pw, ow), (torch, pt, ot)):
        def closure(m=m, ps=ps, o=o):
            o.zero_grad()
            loss = _loss(m, ps, targets)
            loss.backward()
            return loss
        for _ in range(3):
            loss = o.step(closure)
        assert loss is not None
    _assert_params(pw, pt)


def test_tensor_lr():
    p0, targets = _data()
    pw, ow = _make(webdl, p0, "SGD", dict(lr=webdl.tensor(0.05), momentum=0.9))
    pt, ot = _make(torch, p0, "SGD", dict(lr=torch.tensor(0.05), momentum=0.9))
    _run(webdl, pw, ow, targets, 5)
    _run(torch, pt, ot, targets, 5)
    _assert_params(pw, pt)


@pytest.mark.parametrize("name,kw,msg", [
    ("SGD", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("SGD", dict(momentum=-0.1), "Invalid momentum value"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("Adam", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0"),
    ("Adam", dict(eps=-1.0), "Invalid epsilon value"),
    ("Adam", dict(differentiable=True), "differentiable=True"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value"),
    ("Adagrad", dict(lr_decay=-1), "Invalid lr_decay value"),
    ("NAdam", dict(momentum_decay=-1), "Invalid momentum_decay value"),
    ("RMSprop", dict(alpha=-1), "Invalid alpha value"),
])
def test_invalid_arguments(name, kw, msg):
    with pytest.raises((ValueError, NotImplementedError), match=msg):
        getattr(webdl.optim, name)([webdl.zeros(2, requires_grad=True)], **kw)
    if "differentiable" not in kw:
        with pytest.raises(ValueError):
            getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw)


def test_missing_optimizer_names_it():
    with pytest.raises(AttributeError, match="LBFGS"):
        webdl.optim.LBFGS  # noqa: B018
