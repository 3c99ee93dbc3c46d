"""Every scheduler's lr sequence (and momentum, where it cycles) against PyTorch's over 35+
steps, state_dict round trips (webdl -> webdl, PyTorch -> webdl) and the deprecated
step(epoch) closed forms."""
import math
import warnings

import numpy as np
import pytest
import torch

import webdl


def _lam(e):
    return 0.95 ** e


def _lam2(e):
    return 1.0 / (1 + e)


def _mul(e):
    return 0.9 if e % 2 else 1.0


CASES = {
    "LambdaLR": lambda m, o: m.optim.lr_scheduler.LambdaLR(o, _lam),
    "LambdaLR-list": lambda m, o: m.optim.lr_scheduler.LambdaLR(o, [_lam, _lam2]),
    "MultiplicativeLR": lambda m, o: m.optim.lr_scheduler.MultiplicativeLR(o, _mul),
    "StepLR": lambda m, o: m.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda m, o: m.optim.lr_scheduler.MultiStepLR(o, [3, 8, 8, 20], gamma=0.3),
    "ConstantLR": lambda m, o: m.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=4),
    "LinearLR-up": lambda m, o: m.optim.lr_scheduler.LinearLR(o, start_factor=0.2,
                                                              total_iters=10),
    "LinearLR-down": lambda m, o: m.optim.lr_scheduler.LinearLR(o, start_factor=1.0,
                                                                end_factor=0.1, total_iters=25),
    "ExponentialLR": lambda m, o: m.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
    "PolynomialLR": lambda m, o: m.optim.lr_scheduler.PolynomialLR(o, total_iters=20, power=2.0),
    "CosineAnnealingLR": lambda m, o: m.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10,
                                                                             eta_min=0.001),
    "CosineAnnealingWarmRestarts": lambda m, o: m.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        o, T_0=5, T_mult=2, eta_min=0.01),
    "CosineAnnealingWarmRestarts-1": lambda m, o:
        m.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=7),
    "OneCycleLR": lambda m, o: m.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=40),
    "OneCycleLR-linear-3phase": lambda m, o: m.optim.lr_scheduler.OneCycleLR(
        o, max_lr=[0.1, 0.2], epochs=4, steps_per_epoch=10, anneal_strategy="linear",
        three_phase=True, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
    "OneCycleLR-nomomentum": lambda m, o: m.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.05, total_steps=36, cycle_momentum=False),
    "CyclicLR": lambda m, o: m.optim.lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                           step_size_up=5),
    "CyclicLR-triangular2": lambda m, o: m.optim.lr_scheduler.CyclicLR(
        o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=4, step_size_down=6,
        mode="triangular2"),
    "CyclicLR-exp_range": lambda m, o: m.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range", gamma=0.95),
    "SequentialLR": lambda m, o: m.optim.lr_scheduler.SequentialLR(
        o, [m.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=5),
            m.optim.lr_scheduler.CosineAnnealingLR(o, T_max=20)], milestones=[5]),
    "SequentialLR-3": lambda m, o: m.optim.lr_scheduler.SequentialLR(
        o, [m.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=10),
            m.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
            m.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)], milestones=[4, 15]),
    "ChainedScheduler": lambda m, o: m.optim.lr_scheduler.ChainedScheduler(
        [m.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=3),
         m.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)]),
}
# which schedulers cycle the momentum, and of which optimizer
MOMENTUM_OPTS = {"OneCycleLR": "SGD", "OneCycleLR-linear-3phase": "Adam", "CyclicLR": "SGD",
                 "CyclicLR-triangular2": "RMSprop", "CyclicLR-exp_range": "NAdam"}


def _opt(m, name="SGD"):
    a = m.zeros(2, requires_grad=True)
    b = m.zeros(3, requires_grad=True)
    kw = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    return getattr(m.optim, name)([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.2,
                                  **kw)


def _momentum(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _sequence(m, case, steps=36, opt_name="SGD"):
    opt = _opt(m, opt_name)
    sched = CASES[case](m, opt)
    out = [(list(sched.get_last_lr()), _momentum(opt))]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append((list(sched.get_last_lr()), _momentum(opt)))
        assert out[-1][0] == [g["lr"] for g in opt.param_groups]
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_sequence_matches_torch(case):
    steps = 40 if case.startswith("OneCycleLR") and "nomomentum" not in case else 36
    opt_name = MOMENTUM_OPTS.get(case, "SGD")
    w = _sequence(webdl, case, steps, opt_name)
    t = _sequence(torch, case, steps, opt_name)
    lw, lt = np.array([x[0] for x in w]), np.array([x[0] for x in t])
    np.testing.assert_allclose(lw, lt, rtol=1e-12, atol=1e-15)
    mw, mt = np.array([x[1] for x in w], float), np.array([x[1] for x in t], float)
    np.testing.assert_allclose(mw, mt, rtol=1e-12, atol=1e-15)
    assert len(set(map(tuple, lt.tolist()))) >= 2         # the schedule did change the lr


def test_onecycle_past_total_steps_raises():
    for m in (webdl, torch):
        opt = _opt(m)
        s = m.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
        for _ in range(3):
            opt.step()
            s.step()
        with pytest.raises(ValueError, match="Tried to step 4 times"):
            s.step()


def test_onecycle_needs_momentum_optimizer():
    opt = webdl.optim.Adagrad([webdl.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="momentum or beta1"):
        webdl.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)


PLATEAU = [
    dict(),
    dict(patience=2, factor=0.5),
    dict(mode="max", patience=1, factor=0.3, threshold=0.05),
    dict(patience=0, threshold_mode="abs", threshold=0.1, cooldown=2, min_lr=[0.01, 0.004]),
    dict(patience=1, factor=0.2, min_lr=0.03, eps=1e-3),
]


@pytest.mark.parametrize("kw", PLATEAU, ids=[str(i) for i in range(len(PLATEAU))])
def test_reduce_on_plateau_matches_torch(kw):
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1, 0.5, 8), 0.5 + rng.random(12) * 0.1,
                              np.linspace(0.5, 0.2, 6), np.full(10, 0.2)]).tolist()
    if kw.get("mode") == "max":
        metrics = [-v for v in metrics]
    seqs = []
    for m in (webdl, torch):
        opt = _opt(m)
        s = m.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        seq = []
        for v in metrics:
            opt.step()
            s.step(m.tensor(v) if len(seq) % 2 else v)
            seq.append(s.get_last_lr())
        seqs.append(seq)
    assert len(metrics) >= 30
    np.testing.assert_allclose(seqs[0], seqs[1], rtol=1e-12)


STATEFUL = ["StepLR", "MultiStepLR", "LinearLR-up", "ExponentialLR", "CosineAnnealingLR",
            "CosineAnnealingWarmRestarts", "OneCycleLR", "CyclicLR-triangular2",
            "SequentialLR", "ChainedScheduler", "LambdaLR", "PolynomialLR"]


def _steps(opt, sched, n):
    out = []
    for _ in range(n):
        opt.step()
        sched.step()
        out.append(list(sched.get_last_lr()) + _momentum(opt))
    return out


@pytest.mark.parametrize("case", STATEFUL)
def test_state_dict_round_trip(case):
    """Stop after 12 steps, rebuild optimizer and scheduler, load both states, continue:
    the same lrs as without the stop."""
    opt_name = MOMENTUM_OPTS.get(case, "SGD")
    opt = _opt(webdl, opt_name)
    sched = CASES[case](webdl, opt)
    _steps(opt, sched, 12)
    ssd, osd = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in ssd
    rest = _steps(opt, sched, 20)
    opt2 = _opt(webdl, opt_name)
    sched2 = CASES[case](webdl, opt2)
    sched2.load_state_dict(ssd)
    opt2.load_state_dict(osd)
    assert _steps(opt2, sched2, 20) == rest


@pytest.mark.parametrize("case", STATEFUL)
def test_load_torch_scheduler_state(case):
    """A PyTorch scheduler's state dict (and its optimizer's groups) continue in webdl as
    in PyTorch, and the scheduler state dicts hold the same keys and values."""
    opt_name = MOMENTUM_OPTS.get(case, "SGD")
    ot = _opt(torch, opt_name)
    st = CASES[case](torch, ot)
    _steps(ot, st, 12)
    ow = _opt(webdl, opt_name)
    sw = CASES[case](webdl, ow)
    _steps(ow, sw, 12)
    assert set(sw.state_dict()) == set(st.state_dict())
    ow2 = _opt(webdl, opt_name)
    sw2 = CASES[case](webdl, ow2)
    sw2.load_state_dict(st.state_dict())
    ow2.load_state_dict({"state": {}, "param_groups": ot.state_dict()["param_groups"]})
    np.testing.assert_allclose(_steps(ow2, sw2, 20), _steps(ot, st, 20), rtol=1e-12)


@pytest.mark.parametrize("case,epochs", [
    ("StepLR", [0, 3, 4, 9, 2]), ("MultiStepLR", [1, 8, 21, 3]), ("ExponentialLR", [2, 5, 1]),
    ("CosineAnnealingLR", [3, 10, 14, 1]), ("LinearLR-up", [2, 12, 5]),
    ("PolynomialLR", [4, 25, 3]), ("ConstantLR", [1, 4, 2]),
    ("CosineAnnealingWarmRestarts", [0.5, 3.25, 7, 20.5, 4]),
    ("CosineAnnealingWarmRestarts-1", [6.5, 15, 2])])
def test_step_with_epoch_uses_closed_form(case, epochs):
    seqs = []
    for m in (webdl, torch):
        opt = _opt(m)
        s = CASES[case](m, opt)
        seq = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for e in epochs:
                opt.step()
                s.step(e)
                seq.append(s.get_last_lr())
        seqs.append(seq)
    np.testing.assert_allclose(seqs[0], seqs[1], rtol=1e-12)


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        webdl.optim.lr_scheduler.StepLR(object(), step_size=2)


def test_resume_needs_initial_lr():
    opt = _opt(webdl)
    with pytest.raises(KeyError, match="initial_lr"):
        webdl.optim.lr_scheduler.StepLR(opt, step_size=2, last_epoch=4)


def test_tensor_lr_is_updated_in_place():
    for m in (webdl, torch):
        lr = m.tensor(0.1)
        opt = m.optim.SGD([m.zeros(2, requires_grad=True)], lr=lr)
        s = m.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        opt.step()
        s.step()
        assert opt.param_groups[0]["lr"] is lr
        assert math.isclose(float(lr), 0.05, rel_tol=1e-6)
