"""The fused softmax primitive on WebGL (headless Chromium): softmax with its scale and
masks runs in two draws forward and two backward, and matches the numpy backend for bool,
float and causal masks, scales and rows with every key masked (issue #13, item 3)."""

_DRAWS = """
import json, numpy as np, webdl
from webdl.functions.reduction import masked_softmax

def draws():
    return webdl.memory_stats('webgl')['drawCalls']

rng = np.random.default_rng(7)
x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32) * 3
g = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
bmask = rng.random((5, 6)) > 0.4
bmask[1] = False                                     # a row with every key masked
fmask = np.where(rng.random((3, 1, 6)) > 0.3, rng.standard_normal((3, 1, 6)), -np.inf)
configs = [("none", None, {}), ("bool", bmask, {"safe": True}), ("bool_nan", bmask, {}),
           ("float", fmask.astype(np.float32), {"scale": 0.3}),
           ("causal", None, {"causal": True, "scale": 2.0, "safe": True}),
           ("log", bmask[2:], {"log": True, "scale": 0.5})]
out = {}
for name, mask, kw in configs:
    res = {}
    for dev in ("cpu", "webgl"):
        X = webdl.tensor(x[:, :, :3] if name == "log" else x, device=dev, requires_grad=True)
        G = webdl.tensor(g[:, :, :3] if name == "log" else g, device=dev)
        M = None if mask is None else webdl.tensor(mask, device=dev,
                                                   requires_grad=name == "float")
        webdl.Tensor._realize_all(X, G, *([M] if M is not None else []))
        d0 = draws() if dev == "webgl" else 0
        y = masked_softmax(X, M, **kw)
        webdl.Tensor._realize_all(y)
        d1 = draws() if dev == "webgl" else 0
        y.backward(G)
        webdl.Tensor._realize_all(X.grad)
        d2 = draws() if dev == "webgl" else 0
        res[dev] = [y.detach().numpy(), X.grad.numpy()] + (
            [M.grad.numpy()] if name == "float" else [])
        if dev == "webgl":
            fwd, bwd = d1 - d0, d2 - d1
    err = 0.0
    for a, b in zip(res["webgl"], res["cpu"]):
        assert (np.isnan(a) == np.isnan(b)).all(), name
        ok = ~np.isnan(b)
        err = max(err, float(np.abs(a[ok] - b[ok]).max()) if ok.any() else 0.0)
    out[name] = [fwd, bwd, err, int(np.isnan(res["cpu"][0]).any())]
json.dumps(out)
"""


def test_fused_softmax_two_draws_each_way(in_pyodide):
    r = in_pyodide.check(_DRAWS)
    for name, (fwd, bwd, err, has_nan) in r.items():
        assert fwd == 2, (name, r[name])
        # the float mask's own gradient is a second softmax_backward (and its broadcast sum)
        assert bwd <= (2 if name != "float" else 5), (name, r[name])
        assert err < 1e-4, (name, r[name])
    assert r["bool_nan"][3] == 1 and r["bool"][3] == 0, r   # NaN row, unless safe


def test_sdpa_softmax_part_draws(in_pyodide):
    """Whole scaled_dot_product_attention with a causal mask: the draws beyond the two
    matmuls (and their gradients) are the softmax's two each way; values match numpy."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
import webdl.nn.functional as F
def draws():
    return webdl.memory_stats('webgl')['drawCalls']
rng = np.random.default_rng(3)
q, k, v = (rng.standard_normal((2, 4, 16, 8)).astype(np.float32) for _ in range(3))
res = {}
for dev in ('cpu', 'webgl'):
    Q, K, V = (webdl.tensor(a, device=dev, requires_grad=True) for a in (q, k, v))
    webdl.Tensor._realize_all(Q, K, V)
    d0 = draws() if dev == 'webgl' else 0
    s = Q @ K.transpose(-2, -1)
    webdl.Tensor._realize_all(s)
    d1 = draws() if dev == 'webgl' else 0
    o = F.scaled_dot_product_attention(Q, K, V, is_causal=True)
    webdl.Tensor._realize_all(o)
    d2 = draws() if dev == 'webgl' else 0
    o.sum().backward()
    res[dev] = [o.detach().numpy(), Q.grad.numpy(), K.grad.numpy(), V.grad.numpy()]
    if dev == 'webgl':
        mm = d1 - d0
        fwd = d2 - d1
json.dumps([mm, fwd, max(float(np.abs(a - b).max()) for a, b in zip(res['webgl'], res['cpu']))])
""")
    mm, fwd, err = r
    assert fwd == 2 * mm + 2, r      # q k^T, the fused softmax (2), weights v
    assert err < 1e-3, r
