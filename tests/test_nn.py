"""nn.Module bookkeeping, layers against PyTorch with the same weights, state_dict."""
import numpy as np
import pytest
import torch

import webdl
import webdl.nn as nn
import models


def _pair(make_w, make_t, x_shape, train=True, seed=0):
    webdl.manual_seed(seed)
    mw = make_w()
    mt = make_t()
    mt.load_state_dict({k: torch.tensor(v.numpy()) for k, v in mw.state_dict().items()})
    mw.train(train)
    mt.train(train)
    x = np.random.default_rng(seed).standard_normal(x_shape).astype(np.float32)
    xw = webdl.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yw, yt = mw(xw), mt(xt)
    np.testing.assert_allclose(yw.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    yw.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xw.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)
    pw, pt = dict(mw.named_parameters()), dict(mt.named_parameters())
    assert list(pw) == list(pt)
    for k in pw:
        np.testing.assert_allclose(pw[k].grad.numpy(), pt[k].grad.numpy(), rtol=1e-4, atol=1e-5)
    return mw, mt


LAYERS = {
    "Linear": (lambda m: m.nn.Linear(4, 3), (2, 4)),
    "Conv2d": (lambda m: m.nn.Conv2d(3, 4, 3, stride=2, padding=1), (1, 3, 7, 7)),
    "Conv2d_groups": (lambda m: m.nn.Conv2d(4, 4, 3, padding="same", groups=2, bias=False),
                      (1, 4, 5, 5)),
    "ConvTranspose2d": (lambda m: m.nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1),
                        (1, 3, 4, 4)),
    "PReLU": (lambda m: m.nn.PReLU(3), (2, 3, 4)),
    "BatchNorm2d": (lambda m: m.nn.BatchNorm2d(3), (4, 3, 2, 2)),
    "BatchNorm1d": (lambda m: m.nn.BatchNorm1d(5), (6, 5)),
    "LayerNorm": (lambda m: m.nn.LayerNorm(6), (2, 3, 6)),
    "Sequential": (lambda m: m.nn.Sequential(m.nn.Linear(3, 5), m.nn.GELU(), m.nn.Dropout(0.0),
                                             m.nn.Linear(5, 2), m.nn.Sigmoid()), (4, 3)),
    "Pools": (lambda m: m.nn.Sequential(m.nn.MaxPool2d(2), m.nn.AvgPool2d(2, 1),
                                        m.nn.AdaptiveAvgPool2d((2, 1)), m.nn.Flatten()),
              (2, 3, 9, 8)),
    "Upsample_PixelShuffle": (lambda m: m.nn.Sequential(
        m.nn.Upsample(scale_factor=2), m.nn.PixelShuffle(2), m.nn.LeakyReLU(0.1), m.nn.Tanh(),
        m.nn.Softmax(dim=1)), (1, 8, 3, 3)),
    "ModuleList": (lambda m: m.nn.Sequential(*m.nn.ModuleList([m.nn.Linear(2, 2),
                                                                m.nn.ReLU()])), (3, 2)),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_matches_torch(name):
    make, shape = LAYERS[name]
    _pair(lambda: make(webdl), lambda: make(torch), shape)


def test_batchnorm_running_stats_and_eval():
    mw, mt = _pair(lambda: webdl.nn.BatchNorm2d(3, momentum=0.2),
                   lambda: torch.nn.BatchNorm2d(3, momentum=0.2), (4, 3, 3, 3))
    np.testing.assert_allclose(mw.running_mean.numpy(), mt.running_mean.numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(mw.running_var.numpy(), mt.running_var.numpy(), rtol=1e-5)
    assert mw.num_batches_tracked.item() == mt.num_batches_tracked.item() == 1
    x = np.random.default_rng(5).standard_normal((2, 3, 3, 3)).astype(np.float32)
    mw.eval()
    mt.eval()
    np.testing.assert_allclose(mw(webdl.tensor(x)).detach().numpy(),
                               mt(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_default_init_statistics():
    webdl.manual_seed(0)
    lin = nn.Linear(100, 50)
    w = lin.weight.detach().numpy()
    bound = 1 / np.sqrt(100)                     # kaiming_uniform(a=sqrt(5)) -> 1/sqrt(fan_in)
    assert w.min() >= -bound and w.max() <= bound and w.std() > bound / 2
    conv = nn.Conv2d(4, 8, 3)
    assert np.abs(conv.weight.detach().numpy()).max() <= 1 / np.sqrt(36)
    assert nn.Embedding(10, 3).weight.detach().numpy().std() > 0.5


def test_module_bookkeeping():
    net = models.cnn(webdl)
    names = [n for n, _ in net.named_parameters()]
    tnames = [n for n, _ in models.cnn(torch).named_parameters()]
    assert names == tnames
    assert list(net.state_dict()) == list(models.cnn(torch).state_dict())
    assert len(list(net.children())) == 9 and len(list(net.modules())) == 10
    net.eval()
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    out = net(webdl.randn(2, 1, 8, 8))
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_repr_like_torch():
    for make in (models.cnn, models.mlp,
                 lambda m: m.nn.Sequential(m.nn.ConvTranspose2d(2, 3, 3, stride=2), m.nn.GELU(),
                                           m.nn.LayerNorm(4), m.nn.Embedding(5, 2),
                                           m.nn.Upsample(scale_factor=2), m.nn.Dropout(0.1))):
        assert repr(make(webdl)) == repr(make(torch))


def test_state_dict_round_trip_and_strict_errors():
    a, b = models.mlp(webdl), models.mlp(webdl)
    b.load_state_dict(a.state_dict())
    x = webdl.randn(3, 2)
    assert a(x).tolist() == b(x).tolist()
    sd = a.state_dict()
    del sd["0.weight"]
    sd["extra"] = webdl.zeros(1)
    before = [p.numpy().copy() for p in b.state_dict().values()]
    with pytest.raises(RuntimeError, match=r"missing keys: 0\.weight.*unexpected keys: extra"):
        b.load_state_dict(sd)
    sd = a.state_dict()
    sd["2.bias"] = webdl.zeros(7)
    with pytest.raises(RuntimeError, match=r"2\.bias: checkpoint \(7,\) vs model \(32,\)"):
        b.load_state_dict(sd)
    after = [p.numpy() for p in b.state_dict().values()]
    assert all((x == y).all() for x, y in zip(before, after))   # nothing half-loaded
    res = b.load_state_dict({k: v for k, v in a.state_dict().items() if k != "0.bias"},
                            strict=False)
    assert res.missing_keys == ["0.bias"]


def test_custom_module_and_buffers():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)
            self.scale = nn.Parameter(webdl.ones(1))
            self.register_buffer("count", webdl.zeros(1))

        def forward(self, x):
            return self.fc(x) * self.scale

    net = Net()
    # PyTorch's order: a module's own members first, then its children's
    assert [n for n, _ in net.named_parameters()] == ["scale", "fc.weight", "fc.bias"]
    assert list(net.state_dict()) == ["scale", "count", "fc.weight", "fc.bias"]
    assert net(webdl.randn(4, 3)).shape == (4, 2)
