"""The browser runtime in real headless Chromium: the conformance suite on the WebGL backend
against the numpy reference, training on the GPU, texture lifetime and the JS entry point."""
import os

import numpy as np
import pytest

import opinfo

HERE = os.path.dirname(os.path.abspath(__file__))
RTOL = ATOL = 1e-4   # WebGL (float32 on the GPU) against the numpy reference


def _webgl_vs_numpy(in_pyodide, cases):
    res = in_pyodide.check(f"""
import json, opinfo, webdl, webdl_gl
webdl_gl.glError()
res = opinfo.run_all(opinfo.{cases}, opinfo.Lib(webdl, 'webgl'), opinfo.Lib(webdl, 'cpu'),
                     {RTOL}, {ATOL})
json.dumps([res, webdl_gl.glError()])
""")
    # a draw the GL refused (a feedback loop, a bad attachment) leaves the error flag set
    assert res[1] == 0, f"GL error 0x{res[1]:x} while running the {cases} cases"
    return res[0]


@pytest.fixture(scope="session")
def webgl_results(in_pyodide):
    return _webgl_vs_numpy(in_pyodide, "CASES")


def test_runtime_is_up(browser):
    info = browser.info
    assert info["backend"] == "webgl", info
    assert info["gpu"]["floatRender"] and info["gpu"]["floatExact"]
    assert info["versions"]["pyodide"] == "0.27.7" and info["versions"]["python"].startswith("3.12")
    assert browser.check("import webdl; json_v = str(webdl.get_default_device()); "
                         "import json; json.dumps(json_v)") == "webgl"


@pytest.mark.parametrize("case", opinfo.CASES, ids=str)
def test_conformance_webgl(case, webgl_results):
    worst, wabs, msgs = webgl_results[case.name]
    assert worst <= 1, f"{case.name} on webgl: " + "\n".join(msgs)


def test_report_webgl_worst(webgl_results, capsys):
    """How many cases pass and the largest absolute error of those that ran; all must pass."""
    worst = max(webgl_results.items(), key=lambda kv: kv[1][1] if kv[1][1] < 1e29 else -1)
    ok = sum(1 for v in webgl_results.values() if v[0] <= 1)
    with capsys.disabled():
        print(f"\nwebgl conformance: {ok}/{len(webgl_results)} cases pass; largest absolute "
              f"error against the numpy reference {worst[1][1]:.3g} ({worst[0]})")
    assert ok == len(webgl_results)


def _train_both(browser, make, data, steps, **kw):
    code = f"""
import json, numpy as np, webdl, models
x, y = models.{data}
losses = {{}}
for dev in ('cpu', 'webgl'):
    webdl.manual_seed(0)
    net = models.{make}(webdl)
    losses[dev] = models.train(webdl, net, x, y, steps={steps}, device=dev, **{kw!r})
json.dumps(losses)
"""
    return browser.check(code)


@pytest.mark.parametrize("make,data,kw", [
    ("mlp", "blobs()", dict(lr=1e-2)),
    ("cnn", "bars(n=32)", dict(lr=1e-2)),
])
def test_training_on_webgl_matches_numpy(in_pyodide, make, data, kw):
    """20 Adam steps from the same weights: the GPU's losses follow the reference's."""
    losses = _train_both(in_pyodide, make, data, 20, **kw)
    diff = max(abs(a - b) for a, b in zip(losses["cpu"], losses["webgl"]))
    assert diff < 1e-3, (diff, losses)
    assert losses["webgl"][-1] < losses["webgl"][0] * 0.9


def test_textures_return_to_start(in_pyodide):
    """Textures of a loop's temporaries go back when the tensors are garbage-collected."""
    r = in_pyodide.check("""
import json, gc, webdl, models
x, y = models.blobs(n=64)
net = models.mlp(webdl).to('webgl')
opt = webdl.optim.Adam(net.parameters(), lr=1e-2)
xt, yt = webdl.tensor(x, device='webgl'), webdl.tensor(y, device='webgl')
def step():
    opt.zero_grad()
    loss = webdl.nn.functional.cross_entropy(net(xt), yt)
    loss.backward()
    opt.step()
    return loss.item()
step()                                   # optimizer state now exists
gc.collect()
before = webdl.memory_stats()
for _ in range(10):
    step()
gc.collect()
after = webdl.memory_stats()
t = webdl.randn(1000, device='webgl')
mid = webdl.memory_stats()['textures']
t.free_()
freed = webdl.memory_stats()['textures']
del t
json.dumps([before, after, mid, freed])
""")
    before, after, mid, freed = r
    assert after["textures"] == before["textures"], (before, after)
    assert after["bytes"] == before["bytes"]
    assert after["drawCalls"] > before["drawCalls"]
    assert mid == before["textures"] + 1 and freed == before["textures"]


def test_several_results_in_one_draw(in_pyodide):
    """Lazy results of one shape are computed in one multi-target draw; values stay right."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
rng = np.random.default_rng(3)
a, b = rng.standard_normal((2, 5, 7)).astype(np.float32)
c = rng.standard_normal(7).astype(np.float32)
ta, tb, tc = (webdl.tensor(v, device='webgl') for v in (a, b, c))
outs = [ta * tb + 1.0, (ta - tb).relu(), ta / (tb.abs() + 2.0) * tc, tc.exp() * 2.0]
s0 = webdl.memory_stats()['drawCalls']
webdl.Tensor._realize_all(*outs)
s1 = webdl.memory_stats()['drawCalls']
got = [o.numpy() for o in outs]
want = [a * b + 1, np.maximum(a - b, 0), a / (np.abs(b) + 2) * c, np.exp(c) * 2]
json.dumps([s1 - s0, webdl.memory_stats()['drawCalls'] - s1,
            max(float(np.abs(g - w).max()) for g, w in zip(got, want))])
""")
    draws, later, err = r
    assert draws == 2 and later == 0, r     # the three (5, 7) results together, then (7,)
    assert err < 1e-5, r


def test_in_place_writes_are_computed_together(in_pyodide):
    """In-place writes (add_, copy_, batch norm's running statistics) are held, drawn
    together at the next readback -- those of one shape in one draw of several targets --
    and read back right; a readback of an uploaded tensor (a host copy) draws nothing."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
rng = np.random.default_rng(6)
vals = rng.standard_normal((6, 5)).astype(np.float32)
ts = [webdl.tensor(v, device='webgl') for v in vals]
o = rng.standard_normal((3, 7)).astype(np.float32)
other = webdl.tensor(o, device='webgl')
labels = webdl.tensor([1, 2, 3], device='webgl')
webdl.Tensor._realize_all(*ts, other)
d0 = webdl.memory_stats()['drawCalls']
for i, t in enumerate(ts):
    t.add_(float(i)).mul_(2.0)
other.copy_(other * 3.0 - 1.0)
d1 = webdl.memory_stats()['drawCalls']
labels.tolist()                      # a host copy: nothing drawn
d2 = webdl.memory_stats()['drawCalls']
got = ts[0].numpy()                  # the held writes: one draw per shape
d3 = webdl.memory_stats()['drawCalls']
err = max(float(np.abs(t.numpy() - (v + i) * 2).max()) for i, (t, v) in enumerate(zip(ts, vals)))
bn = webdl.nn.BatchNorm1d(4).to('webgl')
ref = webdl.nn.BatchNorm1d(4).to('cpu')
x = rng.standard_normal((8, 4)).astype(np.float32)
for m, dev in ((bn, 'webgl'), (ref, 'cpu')):
    for _ in range(3):
        m(webdl.tensor(x, device=dev))
err_bn = max(float(np.abs(a.detach().cpu().numpy() - b.detach().numpy()).max())
             for a, b in zip(bn.buffers(), ref.buffers()))
err_other = float(np.abs(other.numpy() - (o * 3 - 1)).max())
json.dumps([d1 - d0, d2 - d1, d3 - d2, max(err, err_other), err_bn])
""")
    held, host, together, err, err_bn = r
    assert held == 0 and host == 0, r           # nothing drawn until a readback needs it
    assert together == 2, r                     # the six (5,) writes in one draw, (3, 7) in one
    assert err < 1e-5 and err_bn < 1e-5, r


def test_reduction_reads_a_chain_in_place(in_pyodide):
    """A reduction of an elementwise chain whose inputs are dense computes the chain where it
    reads it (one draw, or one per combining pass, and none for the chain); other chains
    are drawn first (fused too with the backend's fuses_reads = "strided"). Values match
    numpy: sums (short, and long ones in chunks), max, argmax, int sums, a reshaped chain,
    and the chain read again afterwards."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
rng = np.random.default_rng(5)
f = lambda *s: rng.standard_normal(s).astype(np.float32)
def draws(fn):
    d0 = webdl.memory_stats()['drawCalls']
    v = fn().numpy()
    return v, webdl.memory_stats()['drawCalls'] - d0
a, b, c = f(6, 300), f(6, 300), f(300)
ta, tb, tc = (webdl.tensor(v, device='webgl') for v in (a, b, c))
webdl.Tensor._realize_all(ta, tb, tc)
tc.sum().item()         # a readback: in-place writes held before it are drawn now
i = rng.integers(-4, 4, (5, 9))
ti = webdl.tensor(i, device='webgl')
cases = [
    (lambda: (ta * tb + 1.0).sum(1), (a * b + 1).sum(1)),                  # 300: two passes
    (lambda: (ta - tb).exp().sum(0), np.exp(a - b).sum(0)),
    (lambda: (ta * 2.0).amax(1), (a * 2).max(1)),
    (lambda: (ta * tb).argmax(1), (a * b).argmax(1)),
    (lambda: (ti * 3 + 1).sum(1), (i * 3 + 1).sum(1)),                     # int chain
    (lambda: (ta + tb).reshape(6, 30, 10).sum(2), (a + b).reshape(6, 30, 10).sum(2)),
    (lambda: (ta * tc).sum(1), (a * c).sum(1)),                            # broadcast: drawn
]
be = ta.device.backend
out = []
for mode in ('dense', 'strided'):     # the default, and broadcasting chains fused too
    be.fuses_reads = mode
    try:
        for fn, want in cases:
            got, n = draws(fn)
            out.append([float(np.abs(got - want).max()), n])
    finally:
        be.fuses_reads = 'dense'
y = ta * tb
s = y.sum(1)
out.append(float(np.abs(y.numpy() - a * b).max() + np.abs(s.numpy() - (a * b).sum(1)).max()))
json.dumps(out)
""")
    *rows, again = r
    assert all(err < 1e-3 for err, _ in rows) and again < 1e-3, r
    # the chain computed by the reduction: 2 draws for a chunked sum of 300, 1 otherwise
    # (argmax over 300: chunk values, chunk positions, best chunk, gather = 4); drawn
    # first where an input is broadcast (one draw more), unless those are fused too
    assert [n for _, n in rows] == [2, 1, 2, 4, 1, 1, 3] + [2, 1, 2, 4, 1, 1, 2], r


def test_cat_of_whole_rows(in_pyodide):
    """cat whose inputs are whole rows of the output's texture (a recurrent layer's stacked
    steps) copies each input into its rows, one draw each; other cats take the general
    kernel. Values match numpy: floats, ints, an empty input, views and lazy inputs, and
    the gradient."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
rng = np.random.default_rng(4)
def run(arrs, axis):
    ts = [webdl.tensor(a, device='webgl') for a in arrs]
    webdl.Tensor._realize_all(*ts)
    d0 = webdl.memory_stats()['drawCalls']
    got = webdl.cat(ts, axis).numpy()
    return [bool(np.array_equal(got, np.concatenate(arrs, axis))),
            webdl.memory_stats()['drawCalls'] - d0]
f = lambda *s: rng.standard_normal(s).astype(np.float32)
out = [run([f(32, 256) for _ in range(64)], 0),          # 64 pieces of two rows
       run([f(1, 3, 4096), f(1, 5, 4096)], 1),            # nothing before the axis
       run([rng.integers(-5, 5, (2, 4096)) for _ in range(3)], 0),
       run([f(2, 4096), f(0, 4096), f(1, 4096)], 0),
       run([f(3, 100) for _ in range(3)], 0),              # not whole rows: general kernel
       run([f(2, 4096), f(2, 4096)], 1)]                   # rows interleave: general kernel
a = webdl.tensor(f(4096, 2), device='webgl')
b = webdl.tensor(f(2, 4096), device='webgl')
got = webdl.cat([a.t(), b * 2 + 1], 0).numpy()
out.append(bool(np.allclose(got, np.concatenate([a.numpy().T, b.numpy() * 2 + 1], 0))))
x = webdl.tensor(f(4, 4096), device='webgl', requires_grad=True)
w = webdl.arange(8 * 4096, device='webgl').reshape(8, 4096).float()
(webdl.cat([x, x * 3], 0) * w).sum().backward()
g = np.arange(8 * 4096).reshape(8, 4096)
out.append(bool(np.allclose(x.grad.numpy(), g[:4] + 3 * g[4:])))
json.dumps(out)
""")
    rows, others = r[:6], r[6:]
    assert all(ok for ok, _ in rows) and all(others), r
    assert [n for _, n in rows[:4]] == [64, 2, 3, 2], r     # one draw per non-empty input
    assert rows[4][1] == 1 and rows[5][1] == 1, r


def test_matmul_product_read_packed(in_pyodide):
    """A packed matmul's product stays in its eight render targets (ir.Packed): the
    elementwise chain consuming it reads it in place, so matmul + bias + relu is the
    multiply and one elementwise draw (no unpack pass); views of it (transpose, slice,
    permute, broadcast), two products in one chain, one product read two ways, a reduction
    of it, several outputs at once and the gradient all match numpy. A matmul's left operand
    stays packed while it lives: read again as a right operand packed the same way (a
    linear layer's weight gradient), it is not packed again."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
rng = np.random.default_rng(5)
f = lambda *s: rng.standard_normal(s).astype(np.float32)
T = lambda a: webdl.tensor(a, device='webgl')
A, B, C, b = f(200, 96), f(96, 72), f(96, 72), f(72)
P, Q = A @ B, A @ C
a, bb, cc, bias = T(A), T(B), T(C), T(b)
webdl.Tensor._realize_all(a, bb, cc, bias)
draws = lambda: webdl.memory_stats()['drawCalls']
def close(got, want):
    return float(np.abs(got - want).max() / (1 + np.abs(want).max()))
out = {}
for _ in range(2):          # A kept packed from its first read, B from its second
    webdl.Tensor._realize_all((a @ bb + bias).relu())
d0 = draws()
y = (a @ bb + bias).relu()
webdl.Tensor._realize_all(y)
out['bias_relu_draws'] = draws() - d0          # the multiply and the chain
out['bias_relu'] = close(y.numpy(), np.maximum(P + b, 0))
out['transpose'] = close(((a @ bb).t() * 2).numpy(), P.T * 2)
out['slice'] = close(((a @ bb)[3:150:2, 5:] - 1).numpy(), P[3:150:2, 5:] - 1)
out['broadcast'] = close(((a @ bb)[:1] + (a @ cc)).numpy(), P[:1] + Q)
out['two_products'] = close(((a @ bb) * (a @ cc)).numpy(), P * Q)
p = a @ bb
out['two_ways'] = close((p + p.flip(0) + p.sum(0)).numpy(), P + P[::-1] + P.sum(0))
out['sum'] = close((a @ bb).sum(1).numpy(), P.sum(1))
m, v = (a @ bb) * 2, (a @ cc) + 1
webdl.Tensor._realize_all(m, v, m * v)
out['together'] = close(m.numpy(), P * 2) + close(v.numpy(), Q + 1)
X, W = f(4, 30, 40), f(40, 50)
x3 = T(X)
out['batched_permute'] = close((x3 @ T(W)).permute(2, 0, 1).numpy(), (X @ W).transpose(2, 0, 1))
X4, Y4 = f(3, 2, 16, 24), f(3, 2, 24, 8)
out['batched'] = close((T(X4) @ T(Y4)).tanh().numpy(), np.tanh(X4 @ Y4))
xg = webdl.tensor(A, device='webgl', requires_grad=True)
wg = webdl.tensor(B, device='webgl', requires_grad=True)
((xg @ wg + bias).relu() ** 2).sum().backward()
g = 2 * np.maximum(P + b, 0)
out['grad'] = close(xg.grad.numpy(), g @ B.T) + close(wg.grad.numpy(), A.T @ g)
# the left operand's packed copy, read again as the right operand (a weight's gradient)
h = T(f(256, 64))
dy = T(f(256, 32))
webdl.Tensor._realize_all(h, dy)
(h @ T(f(64, 32))).numpy()
d0 = draws()
webdl.Tensor._realize_all(dy.t() @ h)
out['kept_pack_draws'] = draws() - d0           # pack dy^T, multiply, unpack: not h
json.dumps(out)
""")
    errs = {k: v for k, v in r.items() if not k.endswith("_draws")}
    assert all(v < 1e-5 for v in errs.values()), r
    assert r["bias_relu_draws"] == 2, r
    assert r["kept_pack_draws"] == 3, r


def test_conv_long_sums_over_few_outputs_split_on_hardware(in_pyodide):
    """On a hardware renderer (forced here) a convolution whose few outputs each sum
    thousands of products -- a weight's gradient over a batch and image -- sums its
    channels in slices, a fragment each (conv2d.glsl's u_split), then adds the slices:
    weight and input gradients against the numpy backend, with stride and padding, and
    the two draws of the split convolution counted."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
import webdl.nn.functional as F
be = webdl.device('webgl').backend
rng = np.random.default_rng(17)
errs = {}
be.conv_split = True
try:
    for xs, ws, st in (((32, 1, 16, 16), (8, 1, 3, 3), 1), ((6, 5, 20, 21), (4, 5, 3, 3), 2)):
        x, w = rng.standard_normal(xs).astype(np.float32), rng.standard_normal(ws).astype(np.float32)
        out = {}
        for dev in ('cpu', 'webgl'):
            X, W = (webdl.tensor(v, device=dev, requires_grad=True) for v in (x, w))
            y = F.conv2d(X, W, stride=st, padding=1)
            (y * y).sum().backward()
            out[dev] = [y.detach().numpy(), X.grad.numpy(), W.grad.numpy()]
        errs[str(xs)] = max(float(np.abs(g - c).max() / max(1.0, float(np.abs(c).max())))
                            for g, c in zip(out['webgl'], out['cpu']))
    a = webdl.tensor(rng.standard_normal((1, 64, 1, 64)).astype(np.float32), device='webgl')
    b = webdl.tensor(rng.standard_normal((3, 64, 1, 32)).astype(np.float32), device='webgl')
    webdl.Tensor._realize_all(a, b)
    d0 = webdl.memory_stats()['drawCalls']
    got = F.conv2d(a, b).numpy()               # 2048 products for each of 99 outputs
    draws = webdl.memory_stats()['drawCalls'] - d0
    want = F.conv2d(webdl.tensor(a.numpy()), webdl.tensor(b.numpy())).numpy()
    errs['direct'] = float(np.abs(got - want).max() / max(1.0, float(np.abs(want).max())))
finally:
    be.conv_split = False
json.dumps([errs, draws])
""")
    errs, draws = r
    assert max(errs.values()) < 1e-5, errs
    assert draws == 2, draws     # the slices' sums, then their sum


def test_conv_output_read_packed(in_pyodide):
    """A packed convolution's output stays in its COLS render targets (ir.Packed): the next
    convolution packs it straight from them (a texel holds four channels already) and an
    elementwise chain reads it in place, so two chained convolutions take no unpack pass.
    Values match the numpy backend for each target count (2, 4, 8 columns), strides,
    dilation, bias, views of the output, an activation, a reduction and the gradient."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
import webdl.nn.functional as F
rng = np.random.default_rng(6)
f = lambda *s: rng.standard_normal(s).astype(np.float32)
def both(fn, *arrs):
    got = fn(*[webdl.tensor(a, device='webgl') for a in arrs]).numpy()
    want = fn(*[webdl.tensor(a, device='cpu') for a in arrs]).numpy()
    return float(np.abs(got - want).max() / (1 + np.abs(want).max()))
out = {}
for wo in (2, 4, 23, 40):       # 2, 4 and 8 columns a fragment
    out[f'chain{wo}'] = both(lambda x, w1, b1, w2: F.conv2d(F.conv2d(x, w1, b1, padding=1),
                                                            w2, padding=2, dilation=2),
                             f(2, 6, 5, wo), f(10, 6, 3, 3), f(10), f(5, 10, 3, 3))
out['strided'] = both(lambda x, w1, w2: F.conv2d(F.conv2d(x, w1, stride=2), w2, stride=(1, 2)),
                      f(1, 3, 17, 19), f(4, 3, 3, 3), f(3, 4, 2, 2))
out['activation'] = both(lambda x, w, b: F.leaky_relu(F.conv2d(x, w, b, padding=1), 0.2) * 2,
                         f(2, 5, 9, 12), f(7, 5, 3, 3), f(7))
out['views'] = both(lambda x, w, b: F.conv2d(x, w, b)[:, 2:5].permute(0, 2, 3, 1) + 1,
                    f(1, 4, 10, 11), f(6, 4, 3, 3), f(6))
out['sum'] = both(lambda x, w: F.conv2d(x, w, padding=1).sum((2, 3)), f(2, 3, 8, 8), f(5, 3, 3, 3))
def grads(dev):
    x = webdl.tensor(X, device=dev, requires_grad=True)
    w = webdl.tensor(Wt, device=dev, requires_grad=True)
    (F.conv2d(F.conv2d(x, w, padding=1).relu(), w[:, :4], padding=1) ** 2).sum().backward()
    return x.grad.numpy(), w.grad.numpy()
X, Wt = f(2, 4, 9, 10), f(4, 4, 3, 3)
(gx, gw), (cx, cw) = grads('webgl'), grads('cpu')
out['grad'] = float(max(np.abs(gx - cx).max() / (1 + np.abs(cx).max()),
                        np.abs(gw - cw).max() / (1 + np.abs(cw).max())))
x, w1, w2 = (webdl.tensor(a, device='webgl') for a in (f(1, 8, 32, 32), f(8, 8, 3, 3), f(8, 8, 3, 3)))
webdl.Tensor._realize_all(x, w1, w2)
d0 = webdl.memory_stats()['drawCalls']
F.conv2d(F.conv2d(x, w1, padding=1), w2, padding=1).numpy()
out['chain_draws'] = webdl.memory_stats()['drawCalls'] - d0
json.dumps(out)
""")
    errs = {k: v for k, v in r.items() if k != "chain_draws"}
    assert all(v < 1e-5 for v in errs.values()), r
    # pack x, pack w1, convolve, pack from the targets, pack w2, convolve, one copy out
    assert r["chain_draws"] == 7, r


def test_large_shapes_on_wrapped_and_fallback_paths(in_pyodide):
    """Shapes past one texture's height: the packed conv's input wraps into side-by-side
    blocks (forward and backward), and a matmul too tall for the packed kernel falls back;
    both match the numpy backend."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
import webdl.nn.functional as F
rng = np.random.default_rng(5)
x = rng.standard_normal((2, 16, 1100, 6)).astype(np.float32)
w = (rng.standard_normal((8, 16, 3, 3)) * 0.1).astype(np.float32)
a = rng.standard_normal((1100, 64, 8)).astype(np.float32)
b = rng.standard_normal((8, 4)).astype(np.float32)
out = {}
for dev in ('cpu', 'webgl'):
    X = webdl.tensor(x, device=dev, requires_grad=True)
    W = webdl.tensor(w, device=dev, requires_grad=True)
    y = F.conv2d(X, W, padding=1)
    (y * y).sum().backward()
    out[dev] = [y.detach().numpy(), X.grad.numpy(), W.grad.numpy(),
                (webdl.tensor(a, device=dev) @ webdl.tensor(b, device=dev)).numpy()]
json.dumps([float(np.abs(g - c).max() / max(1.0, float(np.abs(c).max())))
            for g, c in zip(out['webgl'], out['cpu'])])
""")
    assert max(r) < 1e-4, r


@pytest.mark.parametrize("dev", ["webgl", "webgpu"])
def test_deepest_chain_compiles_as_one_kernel(in_pyodide, dev):
    """A chain of unary ops as long as the lazy IR keeps (elementwise.MAX_SIZE nodes: the
    leaf and MAX_SIZE - 1 calls, each nested in the next) is one generated shader or
    compute kernel that compiles (GLSL and WGSL nesting) and matches numpy; one more op
    draws it first and starts a new chain."""
    r = in_pyodide.check(f"""
import json, numpy as np, webdl
from webdl.backends.webgl import elementwise as E
from webdl.apps import bench as B
a = np.linspace(-2, 2, 1000).astype(np.float32)
x = webdl.tensor(a, device={dev!r})
want, y = a.copy(), x
d0 = B._launches({dev!r})
for k in range(E.MAX_SIZE - 1):
    y = y.sin() if k % 2 else y.cos()
    want = np.sin(want) if k % 2 else np.cos(want)
deep = y._buf.size
got = y.numpy()
d1 = B._launches({dev!r})
z = y
for k in range(E.MAX_SIZE - 1):
    z = z.cos()
d2 = B._launches({dev!r})
z = z.cos()
json.dumps([deep, E.MAX_SIZE, d1 - d0, float(np.abs(got - want).max()),
            d2 - d1, B._launches({dev!r}) - d2, z._buf.real is not None])
""")
    deep, most, draws, err, kept, past, drawn = r
    assert deep == most and draws == 1 and err < 1e-4, r
    assert kept == 0 and past == 1 and drawn, r     # one node past the limit: drawn now


@pytest.mark.parametrize("dev", ["webgl", "webgpu"])
def test_roll_is_part_of_the_chain_that_reads_it(in_pyodide, dev):
    """roll is two placed slices chosen by a mask: no draw of its own (the chain reading
    it draws once), the values exactly np.roll's bits (-0.0, NaN, inf), ints exact past
    2**24 on WebGL (WebGPU stores int64 as float32: exact to 2**24); makemore's MLP
    rolls its token ids and sets the first one on each step."""
    r = in_pyodide.check(f"""
import json, numpy as np, webdl
from webdl.apps import bench as B
a = np.array([[-0.0, np.nan, np.inf, -np.inf, 1.5, -2.0]] * 2, np.float32)
x = webdl.tensor(a, device={dev!r})
x._realize()
d0 = B._launches({dev!r})
y = (webdl.roll(x, 2, 1) * 1.0).numpy()
d1 = B._launches({dev!r})
big = (1 << 24) + 3 if {dev!r} == 'webgl' else 1000
idx = webdl.tensor(np.arange(big, big + 10).reshape(2, 5), device={dev!r}) * 1
idx = webdl.roll(idx, 1, 1)
idx[:, 0] = 7
got = idx.numpy()
want = np.roll(np.arange(big, big + 10).reshape(2, 5), 1, 1)
want[:, 0] = 7
json.dumps([bool(np.array_equal(y.view(np.uint32), np.roll(a, 2, 1).view(np.uint32))),
            d1 - d0, bool(np.array_equal(got, want))])
""")
    assert r == [True, 1, True], r


@pytest.mark.parametrize("dev", ["webgl", "webgpu"])
def test_a_number_written_into_slices_is_not_drawn(in_pyodide, dev):
    """``x[...] = number``: the number lands as a constant in the chain that writes it (no
    texture or buffer of it, nor of the slice's mask), so a write draws once -- when the
    next write's slice views it, or at the read (before, three draws each); the values
    are numpy's, for float and int tensors, strided slices and single rows."""
    r = in_pyodide.check(f"""
import json, numpy as np, webdl
from webdl.apps import bench as B
a = np.arange(24, dtype=np.float32).reshape(4, 6)
x = webdl.tensor(a, device={dev!r}) * 1.0
i = webdl.tensor(np.arange(24).reshape(4, 6), device={dev!r}) * 1
x._realize(); i._realize()
d0 = B._launches({dev!r})
x[:, 1:3] = 2.5
x[0, ::2] = -1.0
x[3] = 7
got = x.numpy()
d1 = B._launches({dev!r})
i[:, 0] = 9
i[1:, ::3] = -4
gi = i.numpy()
d2 = B._launches({dev!r})
want = a.copy(); want[:, 1:3] = 2.5; want[0, ::2] = -1.0; want[3] = 7
wi = np.arange(24).reshape(4, 6); wi[:, 0] = 9; wi[1:, ::3] = -4
json.dumps([bool(np.array_equal(got, want)), bool(np.array_equal(gi, wi)), d1 - d0, d2 - d1])
""")
    assert r == [True, True, 3, 2], r


def test_freed_tensor_raises(in_pyodide):
    r = in_pyodide.run("import webdl\nt = webdl.ones(3, device='webgl')\nt.free_()\nt + 1")
    assert not r["ok"] and "GPU memory was already freed" in r["error"]


def test_compile_error_is_named_at_the_first_draw(in_pyodide):
    """Programs link without waiting (their status is read at their first draw): a kernel
    that doesn't compile is named there with the compiler's message, and the device goes on
    working."""
    r = in_pyodide.run("""
import webdl
from webdl.backends.webgl import bridge
t = webdl.ones(4, device='webgl')
pid = bridge._gl.compile("broken|X=1", "#version 300 es\\nprecision highp float;\\n"
                         "out vec4 o;\\nvoid main() { o = vec4(nope); }\\n")
out = t.device.backend.realize((t * 3)._buf)      # a texture of its own to draw into
bridge.draw(pid, out, {}, {})
(t * 2).numpy()
""")
    assert not r["ok"] and "kernel 'broken' does not compile" in r["error"] and \
        "nope" in r["error"], r
    assert in_pyodide.check("import webdl, json; json.dumps((webdl.ones(3, device='webgl') * 2)"
                            ".tolist())") == [2.0, 2.0, 2.0]


def test_run_python_contract(browser):
    r = browser.run("a = 41\nprint('hi')\na + 1")
    assert r == {"ok": True, "stdout": "hi\n", "stderr": "", "result": "42", "error": None}
    assert browser.run("a")["result"] == "41"            # state kept between calls
    r = browser.run("import sys\nprint('warn', file=sys.stderr)\nraise ValueError('bad')")
    assert not r["ok"] and "ValueError: bad" in r["error"] and r["stderr"] == "warn\n"
    assert browser.run("x = 1")["result"] is None
    r = browser.run("def f(:\n  pass")
    assert not r["ok"] and "SyntaxError" in r["error"]


def test_tensor_repr_and_device_in_browser(browser):
    r = browser.run("import webdl\nx = webdl.arange(6, device='webgl').reshape(2, 3) * 1.5\nx")
    assert r["result"] == "tensor([[0.0000, 1.5000, 3.0000],\n        [4.5000, 6.0000, 7.5000]], " \
                          "device='webgl')"
    r = browser.run("webdl.tensor([1.0, 2.0], device='cpu').to('webgl').device")
    assert r["result"] == "device(type='webgl')"


@pytest.fixture(scope="session")
def special_results(in_pyodide):
    return _webgl_vs_numpy(in_pyodide, "SPECIAL")


@pytest.mark.parametrize("case", opinfo.SPECIAL, ids=str)
def test_nan_inf_on_webgl(case, special_results):
    worst, _, msgs = special_results[case.name]
    assert worst <= 1, f"{case.name} on webgl: " + "\n".join(msgs)


def test_draws_of_one_program_keep_their_own_uniforms(in_pyodide):
    """gl.js sends a uniform only when it differs from what its program last got: draws of
    one fused chain with other constants (-0.0 after 0.0 too: the sign reaches 1/x), other
    shapes and offsets, between draws of other programs, each give their own values."""
    got = in_pyodide.check("""
import json, webdl
x = webdl.arange(1, 25, dtype=webdl.float32, device='webgl').reshape(4, 6)
out = []
for c in (2.0, 2.0, 0.0, -0.0, -0.0, 0.0, 3.5):
    for lo in (1, 3):
        out.append((1.0 / (x[:, lo:] * c)).tolist())
        out.append((x.t()[lo:] * c).sum().item())
json.dumps(out)
""")
    x = np.arange(1, 25, dtype=np.float32).reshape(4, 6)
    want = []
    with np.errstate(divide="ignore"):
        for c in (2.0, 2.0, 0.0, -0.0, -0.0, 0.0, 3.5):
            for lo in (1, 3):
                want.append((np.float32(1.0) / (x[:, lo:] * np.float32(c))).tolist())
                want.append(float((x.T[lo:] * np.float32(c)).sum()))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)
        # the sign of an infinity (1 / -0.0) and of a zero sum
        assert np.array_equal(np.signbit(np.asarray(g, dtype=np.float64)), np.signbit(np.asarray(w))), (g, w)
