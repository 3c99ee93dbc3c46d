"""The float16 path (issue #16, item 1) in real headless Chromium: a page forced onto it with
``?gpu=half`` (gl.js skips EXT_color_buffer_float and renders to float16 textures, as on a
GPU that has only EXT_color_buffer_half_float). Its own Pyodide page, so the shared page's
float32 tests are untouched.

Tolerances, derived from float16's unit roundoff u = 2**-11 (every stored value, uploads
included, carries a relative error up to u; the arithmetic inside a shader is highp float):
- the conformance cases: ``|a-b| <= t*max(1, max|ref|) + t*|ref|`` with t = 8u (about 3.9e-3:
  a case's forward and backward store a value a handful of times, each rounding adding up
  to u, and a difference of rounded values is off by u times the larger one, which the
  ``max|ref|`` term covers; long sums are compared relative to their magnitude the same
  way);
- softmax and log_softmax: t = 32u (about 1.6e-2). Their log-sum-exp is stored, with an
  absolute error of |lse|*u, and every output is exp(x - lse): a relative error of |lse|*u,
  several u for logits of a few units.
"""
import base64
import os

import numpy as np
import pytest

import opinfo
from test_superres import lsb_stats, sample

HERE = os.path.dirname(os.path.abspath(__file__))
U = 2.0 ** -11               # float16's unit roundoff
TOL = 8 * U                  # the conformance tolerance on the float16 path
TOL_SOFTMAX = 32 * U         # softmax / log_softmax (see above)


def _tol(name):
    return TOL_SOFTMAX if name.split("[")[0] in ("softmax", "log_softmax") else TOL


class HalfPage:
    """A page of its own on the float16 path: ``check(code)`` runs Python there and returns
    the JSON value of its last expression, ``run(code)`` the raw result."""

    def __init__(self, browser):
        self.browser = browser
        self.page = browser.new_page("runtime.html?gpu=half")
        self.info = self.page.evaluate("() => webdl.ready")

    def run(self, code):
        return self.browser.run(code, self.page)

    def __call__(self, code):
        return self.browser.check(code, self.page)


@pytest.fixture(scope="module")
def half(browser):
    """The float16 page, with the test modules in its file system."""
    h = HalfPage(browser)
    browser.add_modules(HERE, ("opinfo.py", "models.py"), h.page)
    yield h
    h.page.close()


def test_half_path_is_used_and_reported(half):
    info = half.info
    assert info["backend"] == "webgl", info
    gpu = info["gpu"]
    assert gpu["ok"] and not gpu["floatRender"] and gpu["halfRender"] and gpu["halfExact"], gpu
    assert gpu["storage"] == "float16"
    r = half("""
import json, webdl, webdl.backends as b
json.dumps([webdl.backend_info(), webdl.backend_info('cpu'), b.choose_default()])
""")
    info, cpu, line = r
    assert info["device"] == "webgl" and info["storage"] == "float16"
    assert info["precision"].startswith("float16 storage, ~3 decimal digits (relative error "
                                        "up to 2^-11 per stored value)"), info
    assert {k: cpu[k] for k in ("device", "storage", "precision")} == {
        "device": "cpu", "storage": "float32", "precision": "float32 storage and arithmetic"}
    assert cpu["default"] == "webgl" and cpu["chosen"]["device"] == "webgl"
    assert line.startswith("webdl: default device 'webgl' (") and \
        "no float32 render targets, so float16 storage, ~3 decimal digits" in line, line


def test_half_storage_rounds_as_ieee_half(half):
    """Uploads and results are float16 values, rounded to nearest even, overflowing to
    infinity (not NaN, which SwiftShader's own conversion gives), NaN kept."""
    r = half("""
import json, numpy as np, webdl
v = np.array([1.0, 0.1, 1 / 3, 2049.0, 65519.0, 65520.0, 70000.0, -1e6, np.inf, 3e-8, 6e-5,
              -0.0, np.nan], dtype=np.float32)
x = webdl.tensor(v, device='webgl')
y = x * 3 - 1
h = lambda a: a.astype(np.float16).astype(np.float32)
s = lambda a: [str(e) for e in a.tolist()]
json.dumps([s(x.numpy()), s(h(v)), s(y.numpy()), s(h(h(v) * 3 - 1))])
""")
    assert r[0] == r[1] and r[2] == r[3], r


def test_integers_exact(half):
    """int64 tensors are R32I textures on the float16 path too (core WebGL2 renders to and
    reads back R32I): indices and integers computed on the GPU stay exact past float16's
    2048 and past float32's 2**24."""
    r = half("""
import json, numpy as np, webdl
table = webdl.tensor(np.arange(4000) % 7, dtype=webdl.float32, device='webgl')
idx = webdl.tensor([3001, 3999, 2049, 5], device='webgl')
big = webdl.arange(3000, device='webgl') * 1 + (2**24 - 1000)
json.dumps([table[idx].tolist(), (idx * 1).tolist(), int(big.max()), big.argmax().item(),
            int(big[:100].sum()), (big == 2**24 + 1).long().argmax().item()])
""")
    assert r == [[3001 % 7, 3999 % 7, 2049 % 7, 5], [3001, 3999, 2049, 5], 2 ** 24 + 1999,
                 2999, sum(range(2 ** 24 - 1000, 2 ** 24 - 900)), 1001]


@pytest.fixture(scope="module")
def half_results(half):
    res = half("""
import json, opinfo, webdl, webdl_gl
webdl_gl.glError()
res = opinfo.run_all(opinfo.CASES + opinfo.SPECIAL, opinfo.Lib(webdl, 'webgl'),
                     opinfo.Lib(webdl, 'cpu'), 1e-5, 1e-5)
json.dumps([res, webdl_gl.glError()])
""")
    assert res[1] == 0, f"GL error 0x{res[1]:x} on the float16 path"
    # normalised at 1e-5: the error as a fraction of the tolerance is worst * 1e-5 / tol
    return res[0]


@pytest.mark.parametrize("case", opinfo.CASES + opinfo.SPECIAL, ids=str)
def test_conformance_half(case, half_results):
    worst, _, msgs = half_results[case.name]
    assert worst * 1e-5 <= _tol(case.name), f"{case.name} on float16: " + "\n".join(msgs)


def test_report_half_worst(half_results, capsys):
    errs = {k: v[0] * 1e-5 for k, v in half_results.items()}
    ok = sum(1 for k, e in errs.items() if e <= _tol(k))
    worst = max(errs.items(), key=lambda kv: kv[1])
    plain = max((e, k) for k, e in errs.items() if _tol(k) == TOL)
    with capsys.disabled():
        print(f"\nfloat16 conformance: {ok}/{len(errs)} cases pass; largest error (as t in "
              f"t*max(1,max|ref|)+t*|ref|) {worst[1]:.3g} ({worst[0]}), {plain[0]:.3g} "
              f"({plain[1]}) outside softmax")
    assert ok == len(errs)


def _train(half, make, data, steps, opt, eps=1e-8):
    """Losses of the same training (same initial weights) on the numpy backend and on the
    float16 page."""
    return half(f"""
import json, webdl, models
x, y = models.{data}
losses = {{}}
for dev in ('cpu', 'webgl'):
    webdl.manual_seed(0)
    net = models.{make}(webdl).to(dev)
    params = list(net.parameters())
    opt = (webdl.optim.Adam(params, lr=1e-2, eps={eps}) if {opt!r} == 'adam'
           else webdl.optim.SGD(params, lr=5e-2, momentum=0.9))
    xt, yt = webdl.tensor(x, device=dev), webdl.tensor(y, device=dev)
    losses[dev] = []
    for _ in range({steps}):
        opt.zero_grad()
        loss = webdl.nn.functional.cross_entropy(net(xt), yt)
        loss.backward()
        opt.step()
        losses[dev].append(loss.item())
json.dumps(losses)
""")


@pytest.mark.parametrize("make,data,opt,eps,steps,below", [
    ("mlp", "blobs()", "adam", 1e-8, 100, 0.15),
    ("cnn", "bars(n=32)", "sgd", 1e-8, 40, 0.05),
    # Adam's exp_avg_sq is (1 - 0.999) * grad**2: it underflows float16 (below 6e-8) for
    # gradients under about 8e-3, and with eps=1e-8 the step m / (sqrt(v) + eps) blew up
    # (the CNN's loss went to NaN within 15 steps); on this path Adam uses eps >= 1e-4, the
    # usual choice for float16 training, so the default settings learn
    ("cnn", "bars(n=32)", "adam", 1e-8, 40, 0.05),
    ("cnn", "bars(n=32)", "adam", 1e-4, 40, 0.05),
])
def test_training_learns_on_half(half, make, data, opt, eps, steps, below, capsys):
    losses = _train(half, make, data, steps, opt, eps)
    cpu, gpu = losses["cpu"], losses["webgl"]
    with capsys.disabled():
        print(f"\n  float16 {make} {opt}: loss {gpu[0]:.4f} -> {gpu[-1]:.4f} "
              f"(numpy backend {cpu[0]:.4f} -> {cpu[-1]:.4f})")
    assert gpu[-1] < below and cpu[-1] < below, losses
    assert abs(gpu[0] - cpu[0]) < 8 * U * max(1.0, cpu[0]), losses   # the same start


def test_adam_uses_eps_1e4_on_half_and_says_so(half):
    """eps below 1e-4 steps as eps=1e-4 there (the same values), with one warning."""
    r = half("""
import json, warnings, webdl
out, values = [], []
for eps in (1e-8, 1e-4):
    p = webdl.nn.Parameter(webdl.tensor([1.0, 0.01, 1e-3], device='webgl'))
    opt = webdl.optim.Adam([p], eps=eps)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        for _ in range(3):
            opt.zero_grad()
            (p * p).sum().backward()
            opt.step()
    out.append([str(x.message) for x in w])
    values.append(p.tolist())
assert values[0] == values[1], values
cpu = webdl.nn.Parameter(webdl.ones(3, device='cpu'))
(cpu * cpu).sum().backward()
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter('always')
    webdl.optim.Adam([cpu]).step()
json.dumps(out + [[str(x.message) for x in w]])
""")
    assert r == [["Adam: this GPU stores float16 (no float32 render targets), where the second "
                  "moment underflows for small gradients and a step with eps=1e-08 blows up; "
                  "it uses eps=0.0001 (pass eps >= 0.0001 to say so yourself)"], [], []], r


def test_superres_within_2_lsb_on_half(half, capsys):
    """esrgan-slim x2 on the fixture against UpscalerJS's own result (the float32 path is
    within 1 LSB)."""
    r = half("""
import webdl_fetch, numpy as np, json, base64, time
from PIL import Image
import webdl.apps.superres as sr
webdl_fetch.toFile('vendor/models/esrgan-slim/assets/fixture.png', '/tmp/fixture.png')
img = np.asarray(Image.open('/tmp/fixture.png').convert('RGB'))
up = sr.load('esrgan-slim', 2, device='webgl')
t = time.perf_counter()
out = up(img, tile=None)
json.dumps([base64.b64encode(out.tobytes()).decode(), list(out.shape), time.perf_counter() - t])
""")
    out = np.frombuffer(base64.b64decode(r[0]), np.uint8).reshape(r[1])
    ref = sample("esrgan-slim", 2)
    d = np.abs(out.astype(int) - ref.astype(int))
    exact, within1, dmax = lsb_stats(out, ref)
    with capsys.disabled():
        print(f"\n  float16 esrgan-slim x2: exact {exact:.4%}, within 1 LSB {within1:.4%}, "
              f"max {dmax} LSB, {r[2]:.1f} s")
    assert out.shape == ref.shape and d.max() <= 2
