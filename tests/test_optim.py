"""Optimizers and schedulers step for step against PyTorch."""
import numpy as np
import pytest
import torch

import webdl

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.3, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.05, weight_decay=0.5, eps=1e-6)),
]


@pytest.mark.parametrize("name,kw", CONFIGS, ids=[f"{n}{i}" for i, (n, _) in
                                                   enumerate(CONFIGS)])
def test_optimizer_matches_torch(name, kw):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((3, 4)).astype(np.float32)
    target = rng.standard_normal((3, 4)).astype(np.float32)
    pw = webdl.tensor(p0, requires_grad=True)
    pt = torch.tensor(p0, requires_grad=True)
    ow = getattr(webdl.optim, name)([pw], **kw)
    ot = getattr(torch.optim, name)([pt], **kw)
    for _ in range(15):
        for p, o, m in ((pw, ow, webdl), (pt, ot, torch)):
            o.zero_grad()
            ((p - m.tensor(target)) ** 2 * m.tensor(target).abs()).sum().backward()
            o.step()
    np.testing.assert_allclose(pw.detach().numpy(), pt.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_param_groups_and_state_dict():
    a = webdl.zeros(2, requires_grad=True)
    b = webdl.zeros(2, requires_grad=True)
    opt = webdl.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    (a.sum() + b.sum()).backward()
    opt.step()
    assert a.tolist() == pytest.approx([-0.1, -0.1]) and b.tolist() == pytest.approx([-0.5, -0.5])
    sd = opt.state_dict()
    opt2 = webdl.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[1]["lr"] == 0.5 and len(opt2.state) == 2


@pytest.mark.parametrize("sched,kw", [("StepLR", dict(step_size=3, gamma=0.5)),
                                      ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01))])
def test_scheduler_matches_torch(sched, kw):
    pw = webdl.zeros(1, requires_grad=True)
    pt = torch.zeros(1, requires_grad=True)
    ow, ot = webdl.optim.SGD([pw], lr=0.2), torch.optim.SGD([pt], lr=0.2)
    sw = getattr(webdl.optim.lr_scheduler, sched)(ow, **kw)
    st = getattr(torch.optim.lr_scheduler, sched)(ot, **kw)
    lw, lt = [], []
    for _ in range(20):
        ow.step()
        ot.step()
        sw.step()
        st.step()
        lw.append(sw.get_last_lr()[0])
        lt.append(st.get_last_lr()[0])
    np.testing.assert_allclose(lw, lt, rtol=1e-12, atol=1e-15)
