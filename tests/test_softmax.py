"""The softmax primitive (ops.reduce.Softmax) on the host: clear errors for masks and
inputs it can't take (its values and gradients are conformance cases in opinfo.py)."""
import pytest

import webdl
from webdl.functions.reduction import masked_softmax


def test_bad_masks_raise():
    x = webdl.randn(2, 3, 4)
    with pytest.raises(ValueError, match="not broadcastable"):
        masked_softmax(x, webdl.zeros(5))
    with pytest.raises(TypeError, match="bool or floating point"):
        masked_softmax(x, webdl.zeros(4, dtype=webdl.long))
    with pytest.raises(TypeError, match="must be a Tensor"):
        masked_softmax(x, [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="causal mask needs"):
        masked_softmax(webdl.randn(4), causal=True)
    with pytest.raises(TypeError, match="floating point input"):
        masked_softmax(webdl.ones(4, dtype=webdl.long))



def _torch_softmax(x, mask, scale=1.0, causal=False, log=False, safe=False):
    """PyTorch's own ops, as a program would write the masked softmax."""
    import torch
    s = x * scale
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else s + mask
    if causal:
        s = s.masked_fill(~torch.ones(s.shape[-2:], dtype=torch.bool).tril(), float("-inf"))
    out = torch.log_softmax(s, -1) if log else torch.softmax(s, -1)
    if safe:
        out = torch.where((s == float("-inf")).all(-1, keepdim=True), 0.0, out)
    return out


@pytest.mark.parametrize("fused", [True, False], ids=["primitive", "composite"])
@pytest.mark.parametrize("kw", [
    dict(), dict(scale=0.3), dict(causal=True), dict(log=True), dict(log=True, causal=True),
    dict(mask="bool"), dict(mask="bool", safe=True), dict(mask="float"),
    dict(mask="none_left", safe=True)], ids=str)
def test_softmax_paths_match_pytorch(monkeypatch, kw, fused):
    """The fused primitive and the composite a backend without its kernel runs (webgpu
    today), outputs and input gradients against PyTorch."""
    import numpy as np
    import torch
    kw = dict(kw)
    kind = kw.pop("mask", None)
    r = np.random.default_rng(1)
    x = r.standard_normal((2, 3, 5, 5)).astype("f4")
    w = r.standard_normal((2, 3, 5, 5)).astype("f4")
    m = {"bool": r.random((5, 5)) > 0.3, "float": r.standard_normal((3, 1, 5)).astype("f4"),
         "none_left": np.arange(25).reshape(5, 5) >= 5, None: None}[kind]
    tx = torch.tensor(x, requires_grad=True)
    want = _torch_softmax(tx, None if m is None else torch.tensor(m), **kw)
    (want * torch.tensor(w)).sum().backward()
    with monkeypatch.context() as mp:
        mp.setattr(type(webdl.device("cpu").backend), "has_kernel",
                   lambda self, name: fused or name != "softmax")
        wx = webdl.tensor(x, requires_grad=True)
        got = masked_softmax(wx, None if m is None else webdl.tensor(m), **kw)
        (got * webdl.tensor(w)).sum().backward()
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(wx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_composite_safe_rows_of_added_minus_inf(monkeypatch):
    """An added mask of -inf over a whole row (scaled_dot_product_attention's float masks):
    the composite gives zeros and zero gradients there, as the primitive (checked against
    PyTorch's SDPA in opinfo's sdpa[float_none_left]) does -- no 0/0 in its backward."""
    import numpy as np
    r = np.random.default_rng(3)
    x = r.standard_normal((3, 4, 5)).astype("f4")
    mask = r.standard_normal((4, 5)).astype("f4")
    mask[1] = -np.inf
    res = []
    for fused in (True, False):
        with monkeypatch.context() as mp:
            mp.setattr(type(webdl.device("cpu").backend), "has_kernel",
                       lambda self, name: fused or name != "softmax")
            wx = webdl.tensor(x, requires_grad=True)
            wm = webdl.tensor(mask, requires_grad=True)
            y = masked_softmax(wx, wm, scale=0.5, safe=True)
            (y * webdl.tensor(r.standard_normal(y.shape).astype("f4"))).sum().backward()
            res.append([y.detach().numpy(), wx.grad.numpy()])
    (a, ga), (b, gb) = res
    assert np.isfinite(gb).all() and (b[:, 1] == 0).all() and (gb[:, 1] == 0).all()
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
