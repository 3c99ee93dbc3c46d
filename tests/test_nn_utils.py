"""webdl.nn.utils against torch.nn.utils: gradient clipping (every norm type, the returned
total norm, non-finite gradients) and parameter/vector conversion."""
import math
import warnings

import numpy as np
import pytest
import torch

import webdl


def _params(m, seed=0, with_none=False, scale=1.0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 3)]
    ps = []
    for i, s in enumerate(shapes):
        p = m.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
        g = (rng.standard_normal(s) * scale * (i + 1)).astype(np.float32)
        if not (with_none and i == 1):
            p.grad = m.tensor(g)
        ps.append(p)
    return ps


def _np(t):
    return t.detach().numpy()


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, -math.inf, 0, "inf", 0.5])
@pytest.mark.parametrize("max_norm", [0.5, 1e4])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    pw, pt = _params(webdl, with_none=True), _params(torch, with_none=True)
    nw = webdl.nn.utils.clip_grad_norm_(pw, max_norm, norm_type=norm_type)
    nt = torch.nn.utils.clip_grad_norm_(pt, max_norm, norm_type=norm_type)
    assert isinstance(nw, webdl.Tensor) and nw.shape == ()
    np.testing.assert_allclose(nw.item(), nt.item(), rtol=1e-5)
    for a, b in zip(pw, pt):
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_clips_to_max_norm_and_keeps_grad_objects():
    ps = _params(webdl, scale=10.0)
    grads = [p.grad for p in ps]
    total = webdl.nn.utils.clip_grad_norm_(ps, 1.0)
    assert total.item() > 1.0
    assert all(p.grad is g for p, g in zip(ps, grads))          # scaled in place
    after = math.sqrt(sum(float((p.grad * p.grad).sum()) for p in ps))
    assert after == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_single_tensor_generator_and_empty():
    pw, pt = _params(webdl)[0], _params(torch)[0]
    nw = webdl.nn.utils.clip_grad_norm_(pw, 0.1)
    nt = torch.nn.utils.clip_grad_norm_(pt, 0.1)
    np.testing.assert_allclose(nw.item(), nt.item(), rtol=1e-6)
    np.testing.assert_allclose(pw.grad.numpy(), pt.grad.numpy(), rtol=1e-5)
    nw = webdl.nn.utils.clip_grad_norm_((p for p in _params(webdl)), 0.1)
    nt = torch.nn.utils.clip_grad_norm_((p for p in _params(torch)), 0.1)
    np.testing.assert_allclose(nw.item(), nt.item(), rtol=1e-6)
    assert webdl.nn.utils.clip_grad_norm_([webdl.zeros(2, requires_grad=True)], 1.0).item() == 0
    with pytest.warns(UserWarning, match="empty generator"):
        webdl.nn.utils.clip_grad_norm_((p for p in []), 1.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_clip_grad_norm_nonfinite(bad):
    for m in (webdl, torch):
        ps = _params(m)
        g = ps[0].grad.numpy().copy()
        g[0, 0] = bad
        ps[0].grad = m.tensor(g)
        with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
            m.nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    pw, pt = _params(webdl), _params(torch)
    for ps, m in ((pw, webdl), (pt, torch)):
        g = ps[0].grad.numpy().copy()
        g[0, 0] = bad
        ps[0].grad = m.tensor(g)
    nw = webdl.nn.utils.clip_grad_norm_(pw, 1.0)
    nt = torch.nn.utils.clip_grad_norm_(pt, 1.0)
    np.testing.assert_equal(nw.item(), nt.item())
    for a, b in zip(pw, pt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, equal_nan=True)


def test_get_total_norm_and_clip_grads_with_norm():
    pw, pt = _params(webdl), _params(torch)
    nw = webdl.nn.utils.get_total_norm([p.grad for p in pw], 3.0)
    nt = torch.nn.utils.get_total_norm([p.grad for p in pt], 3.0)
    np.testing.assert_allclose(nw.item(), nt.item(), rtol=1e-5)
    webdl.nn.utils.clip_grads_with_norm_(pw, 0.7, nw)
    torch.nn.utils.clip_grads_with_norm_(pt, 0.7, nt)
    for a, b in zip(pw, pt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5)


def test_deprecated_clip_grad_norm():
    pw, pt = _params(webdl), _params(torch)
    with pytest.warns(FutureWarning):
        nw = webdl.nn.utils.clip_grad_norm(pw, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nt = torch.nn.utils.clip_grad_norm(pt, 0.5)
    np.testing.assert_allclose(nw.item(), nt.item(), rtol=1e-6)


@pytest.mark.parametrize("clip", [0.5, 2, 100.0])
def test_clip_grad_value_matches_torch(clip):
    pw, pt = _params(webdl, with_none=True), _params(torch, with_none=True)
    assert webdl.nn.utils.clip_grad_value_(pw, clip) is None
    torch.nn.utils.clip_grad_value_(pt, clip)
    for a, b in zip(pw, pt):
        if b.grad is None:
            assert a.grad is None
        else:
            np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    one = _params(webdl)[2]
    webdl.nn.utils.clip_grad_value_(one, 0.1)
    assert float(one.grad.abs().amax()) <= np.float32(0.1)


def test_clip_in_a_training_step_matches_torch():
    torch.manual_seed(0)
    nt = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    nw = webdl.nn.Sequential(webdl.nn.Linear(4, 8), webdl.nn.Tanh(), webdl.nn.Linear(8, 2))
    nw.load_state_dict({k: webdl.tensor(v.numpy()) for k, v in nt.state_dict().items()})
    ot = torch.optim.SGD(nt.parameters(), lr=0.5, momentum=0.9)
    ow = webdl.optim.SGD(nw.parameters(), lr=0.5, momentum=0.9)
    x = np.random.default_rng(1).standard_normal((16, 4)).astype(np.float32) * 3
    for _ in range(5):
        for net, opt, m in ((nt, ot, torch), (nw, ow, webdl)):
            opt.zero_grad()
            (net(m.tensor(x)) ** 2).mean().backward()
            m.nn.utils.clip_grad_norm_(net.parameters(), 0.25)
            opt.step()
    for (k, a), b in zip(nw.state_dict().items(), nt.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


def test_parameters_to_vector_and_back():
    pw, pt = _params(webdl), _params(torch)
    vw = webdl.nn.utils.parameters_to_vector(pw)
    vt = torch.nn.utils.parameters_to_vector(pt)
    assert vw.shape == tuple(vt.shape) == (12 + 4 + 12,)
    np.testing.assert_array_equal(_np(vw), _np(vt))
    (vw * webdl.arange(28).float()).sum().backward()             # differentiable
    (vt * torch.arange(28).float()).sum().backward()
    for a, b in zip(pw, pt):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    new = np.arange(28, dtype=np.float32) / 7
    webdl.nn.utils.vector_to_parameters(webdl.tensor(new), pw)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), pt)
    for a, b in zip(pw, pt):
        assert a.shape == tuple(b.shape) and a.requires_grad
        np.testing.assert_array_equal(_np(a), _np(b))
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        webdl.nn.utils.vector_to_parameters(new, pw)


def test_missing_utils_are_named():
    with pytest.raises(AttributeError, match="weight_norm"):
        webdl.nn.utils.weight_norm  # noqa: B018


def test_skip_init_draws_nothing_and_keeps_the_shapes():
    """torch.nn.utils.skip_init: the same parameters (names, shapes) as the module made
    normally, no random numbers drawn (the next draw is the one the seed gives first), and
    PyTorch's error for a class without a ``device`` argument."""
    import torch
    from webdl.nn.utils import skip_init
    t = torch.nn.utils.skip_init(torch.nn.Conv2d, 3, 5, 3, bias=True)
    with torch.no_grad():           # PyTorch's are uninitialised memory (maybe NaN)
        for q in t.parameters():
            q.uniform_(-0.5, 0.5)
    webdl.manual_seed(7)
    first = webdl.rand(4).numpy()
    webdl.manual_seed(7)
    w = skip_init(webdl.nn.Conv2d, 3, 5, 3, bias=True)
    assert (webdl.rand(4).numpy() == first).all()
    assert [(k, tuple(v.shape)) for k, v in w.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    assert all(p.requires_grad for p in w.parameters())
    w.load_state_dict({k: webdl.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((1, 3, 6, 6)).astype(np.float32)
    assert np.abs(w(webdl.tensor(x)).detach().numpy() -
                  t(torch.tensor(x)).detach().numpy()).max() < 1e-5

    class NoDevice(webdl.nn.Module):
        def __init__(self, n):
            super().__init__()
    with pytest.raises(RuntimeError, match="device"):
        skip_init(NoDevice, 3)
