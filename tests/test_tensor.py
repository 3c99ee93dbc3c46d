"""Tensor API: creation, dtypes, devices, conversion, printing and autograd mechanics."""
import numpy as np
import pytest
import torch

import webdl


def test_creation_matches_torch():
    assert webdl.zeros(2, 3).tolist() == torch.zeros(2, 3).tolist()
    assert webdl.ones((2,)).tolist() == [1.0, 1.0]
    assert webdl.full((2, 2), 7.5).tolist() == torch.full((2, 2), 7.5).tolist()
    assert webdl.arange(5).tolist() == torch.arange(5).tolist()
    assert webdl.arange(1, 2, 0.25).tolist() == torch.arange(1, 2, 0.25).tolist()
    np.testing.assert_allclose(webdl.linspace(0, 1, 7).numpy(), torch.linspace(0, 1, 7).numpy(),
                               rtol=1e-6)
    assert webdl.arange(5).dtype is webdl.int64
    assert webdl.tensor([1.5]).dtype is webdl.float32
    assert webdl.tensor([True, False]).dtype is webdl.bool
    assert webdl.tensor(np.arange(3, dtype=np.int32)).dtype is webdl.int64
    assert webdl.tensor(np.ones(2, dtype=np.float64)).dtype is webdl.float32
    x = webdl.randn(3, 4)
    for f in (webdl.zeros_like, webdl.ones_like, webdl.rand_like, webdl.randn_like):
        assert f(x).shape == (3, 4)
    assert webdl.full_like(x, 2.0).sum().item() == 24.0


def test_manual_seed_repeats():
    webdl.manual_seed(3)
    a = webdl.randn(4).tolist()
    webdl.manual_seed(3)
    assert webdl.randn(4).tolist() == a
    r = webdl.rand(1000).numpy()
    assert 0 <= r.min() and r.max() < 1 and abs(r.mean() - 0.5) < 0.05


def test_facts_and_conversion():
    x = webdl.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.shape == (2, 2) and isinstance(x.shape, webdl.Size) and x.ndim == 2
    assert x.size(1) == 2 and x.numel() == 4 and len(x) == 2
    assert x.device == "cpu" and str(x.device) == "cpu"
    assert x.sum().item() == 10.0 and isinstance(x.sum().item(), float)
    assert webdl.tensor(3).item() == 3 and isinstance(webdl.tensor(3).item(), int)
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert float(x[0, 1]) == 2.0 and int(x[1, 1]) == 4
    assert [r.tolist() for r in x] == [[1.0, 2.0], [3.0, 4.0]]
    assert x.long().dtype is webdl.int64 and x.bool().dtype is webdl.bool
    assert x.to(webdl.int64).tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="item"):
        x.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)


@pytest.mark.parametrize("data", [
    [[1.0, 2.5], [3.0, -4.0]], [1.0, 2.0, 3.0], [[1e-5, 1.0]], [[12345.678, 0.5]], [0.1234],
    3.5, 2.0, [1, 2, 30], [[True, False]], [], [[1e9, 2.0]], [float("nan"), 1.0, float("inf")],
])
def test_repr_like_torch(data):
    w, t = repr(webdl.tensor(data)), repr(torch.tensor(data))
    assert w == t.replace("torch.", "webdl."), (w, t)


def test_repr_large_and_grad():
    data = np.arange(2000, dtype=np.float32).reshape(40, 50)
    assert repr(webdl.tensor(data)) == repr(torch.tensor(data))
    assert repr(webdl.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    y = webdl.tensor([1.0], requires_grad=True) * 2
    assert "grad_fn=<MulBackward>" in repr(y)
    data3 = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    assert repr(webdl.tensor(data3)) == repr(torch.tensor(data3))


def test_grad_accumulates_and_reuse():
    x = webdl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [5.0, 7.0, 9.0]
    x.grad = None
    y = x * x
    z = y + y * x            # y used twice, x three times
    z.sum().backward()
    xt = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    yt = xt * xt
    (yt + yt * xt).sum().backward()
    assert x.grad.tolist() == xt.grad.tolist()


def test_backward_with_gradient_argument():
    x = webdl.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * x
    y.backward(webdl.tensor([[1.0, 0.0], [0.5, 2.0]]))
    assert x.grad.tolist() == [[2.0, 0.0], [3.0, 16.0]]


def test_no_grad_and_detach():
    x = webdl.tensor([1.0], requires_grad=True)
    with webdl.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    z = (x * 2).detach()
    assert not z.requires_grad

    @webdl.no_grad()
    def f(a):
        return a * 3
    assert not f(x).requires_grad
    assert webdl.is_grad_enabled()


def test_default_device_and_to():
    assert webdl.get_default_device() == "cpu"
    x = webdl.ones(2).to("cpu")
    assert x.device == "cpu"
    with pytest.raises(RuntimeError, match="webgl"):
        webdl.ones(2, device="webgl")
    with pytest.raises(RuntimeError, match="unknown device"):
        webdl.ones(2, device="tpu")


def test_setitem():
    x = webdl.zeros(3, 4)
    x[1] = 2.0
    x[:, 3] = webdl.tensor([1.0, 2.0, 3.0])
    t = torch.zeros(3, 4)
    t[1] = 2.0
    t[:, 3] = torch.tensor([1.0, 2.0, 3.0])
    assert x.tolist() == t.tolist()


def test_int_and_bool_ops():
    a = webdl.tensor([5, -3, 8])
    assert (a // 2).tolist() == (torch.tensor([5, -3, 8]) // 2).tolist()
    assert (a * 2).dtype is webdl.int64
    assert (a * 0.5).dtype is webdl.float32
    assert ((a > 0) & (a < 6)).tolist() == [True, False, False]
    assert (~(a > 0)).tolist() == [False, True, False]
