"""The fused layer_norm ops (ops.norm) on the host: ``LayerNorm.apply`` and its backward
(``LayerNormBackward``) run their numpy references here, checked against PyTorch for every
combination of weight and bias, normalized dims and in-place checks (WebGL's kernels are
conformance cases in opinfo.py, against the composite)."""
import numpy as np
import pytest

import webdl
from webdl.ops.norm import LayerNorm


@pytest.mark.parametrize("shape,k", [((3, 5, 7), 1), ((2, 3, 4), 2), ((6,), 1), ((4, 1), 1)])
@pytest.mark.parametrize("weight,bias", [(True, True), (True, False), (False, True),
                                         (False, False)])
def test_fused_layer_norm_matches_torch(shape, k, weight, bias):
    import torch
    r = np.random.default_rng(1)
    ns = shape[len(shape) - k:]
    x = (r.standard_normal(shape) * 3 + 5).astype(np.float32)
    w, b, g = r.standard_normal(ns), r.standard_normal(ns), r.standard_normal(shape)
    w, b, g = w.astype(np.float32), b.astype(np.float32), g.astype(np.float32)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.layer_norm(tx, ns, tw if weight else None, tb if bias else None,
                                        eps=1e-3)
    ty.backward(torch.tensor(g))
    wx, ww, wb = (webdl.tensor(a, requires_grad=True) for a in (x, w, b))
    extra = (ww,) * weight + (wb,) * bias
    wy = LayerNorm.apply(wx, *extra, k=k, eps=1e-3, weight=weight, bias=bias)
    assert type(wy.grad_fn).__name__ == "LayerNorm"
    wy.backward(webdl.tensor(g))
    pairs = [(wy, ty), (wx.grad, tx.grad)] + [(ww.grad, tw.grad)] * weight + \
        [(wb.grad, tb.grad)] * bias
    for a, t in pairs:
        np.testing.assert_allclose(a.detach().numpy(), t.detach().numpy(), rtol=1e-4,
                                   atol=1e-4)


def test_modified_weight_is_caught():
    x = webdl.randn(2, 4, requires_grad=True)
    w = webdl.ones(4, requires_grad=True)
    y = LayerNorm.apply(x, w, k=1, eps=1e-5, weight=True, bias=False)
    with webdl.no_grad():
        w.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_output_written_in_place_keeps_its_gradient():
    """The output is not saved (PyTorch's layer_norm doesn't read it back): writing it in
    place leaves the gradient of x as it was."""
    import torch
    x = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    wx, tx = webdl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    wy = LayerNorm.apply(wx, k=1, eps=1e-5, weight=False, bias=False)
    ty = torch.nn.functional.layer_norm(tx, (4,))
    wy.mul_(3.0)
    ty.mul_(3.0)
    (wy * wy).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(wx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
