"""The WebGPU backend (in progress) in real headless Chromium (--enable-unsafe-webgpu: on a
machine without a GPU, SwiftShader's fallback adapter): the conformance suite and the
NaN/Inf cases on `webgpu` against the numpy reference (forward and backward, WebGL's
tolerance), training, one submit per readback, the readback's cost, device choice."""
import json

import pytest

import opinfo
from test_browser import RTOL, ATOL


def _webgpu_vs_numpy(browser, cases):
    return browser.check(f"""
import json, opinfo, webdl
res = opinfo.run_all(opinfo.{cases}, opinfo.Lib(webdl, 'webgpu'), opinfo.Lib(webdl, 'cpu'),
                     {RTOL}, {ATOL})
json.dumps(res)
""")


@pytest.fixture(scope="session")
def webgpu_results(in_pyodide):
    return _webgpu_vs_numpy(in_pyodide, "CASES")


@pytest.fixture(scope="session")
def webgpu_special(in_pyodide):
    return _webgpu_vs_numpy(in_pyodide, "SPECIAL")


def test_adapter_is_reported(browser):
    """The page's start-up info names the adapter; the default device stays webgl."""
    info = browser.info["webgpu"]
    assert info["ok"] and info["jspi"], info
    assert {"vendor", "architecture", "isFallbackAdapter"} <= set(info)
    assert browser.info["backend"] == "webgl"
    # SwiftShader's adapter is a software fallback: WebGL is the faster choice, and says why
    assert info["isFallbackAdapter"] and "software fallback" in browser.info["why"], browser.info
    chosen = browser.check("import webdl, json; json.dumps(webdl.backend_info()['chosen'])")
    assert chosen["device"] == "webgl" and "software fallback" in chosen["why"]
    assert browser.check("import webdl, json; json.dumps([str(webdl.get_default_device()), "
                         "webdl.backends.webgpu.missing_kernels()])") == \
        ["webgl", []]


@pytest.mark.parametrize("case", opinfo.CASES, ids=str)
def test_conformance_webgpu(case, webgpu_results):
    worst, _, msgs = webgpu_results[case.name]
    assert worst <= 1, f"{case.name} on webgpu: " + "\n".join(msgs)


@pytest.mark.parametrize("case", opinfo.SPECIAL, ids=str)
def test_nan_inf_on_webgpu(case, webgpu_special):
    worst, _, msgs = webgpu_special[case.name]
    assert worst <= 1, f"{case.name} on webgpu: " + "\n".join(msgs)


def test_report_webgpu_worst(webgpu_results, capsys):
    worst = max(webgpu_results.items(), key=lambda kv: kv[1][1] if kv[1][1] < 1e29 else -1)
    ok = sum(1 for v in webgpu_results.values() if v[0] <= 1)
    with capsys.disabled():
        print(f"\nwebgpu conformance: {ok}/{len(webgpu_results)} cases pass; largest absolute "
              f"error against the numpy reference {worst[1][1]:.3g} ({worst[0]})")
    assert ok == len(webgpu_results)


def test_mlp_training_matches_cpu(in_pyodide):
    """20 Adam steps of the MLP from the same weights: losses equal the reference's to 1e-4."""
    losses = in_pyodide.check("""
import json, webdl, models
x, y = models.blobs()
losses = {}
for dev in ('cpu', 'webgpu'):
    webdl.manual_seed(0)
    losses[dev] = models.train(webdl, models.mlp(webdl), x, y, steps=20, lr=1e-2, device=dev)
json.dumps(losses)
""")
    diff = max(abs(a - b) for a, b in zip(losses["cpu"], losses["webgpu"]))
    assert diff < 1e-4, (diff, losses)
    assert losses["webgpu"][-1] < losses["webgpu"][0] * 0.9


def test_cnn_training_follows_cpu(in_pyodide):
    """The small CNN (fused conv2d, batch norm, pooling) as WebGL's test: within 1e-3."""
    losses = in_pyodide.check("""
import json, webdl, models
x, y = models.bars(n=32)
losses = {}
for dev in ('cpu', 'webgpu'):
    webdl.manual_seed(0)
    losses[dev] = models.train(webdl, models.cnn(webdl), x, y, steps=20, lr=1e-2, device=dev)
json.dumps(losses)
""")
    diff = max(abs(a - b) for a, b in zip(losses["cpu"], losses["webgpu"]))
    assert diff < 1e-3, (diff, losses)
    assert losses["webgpu"][-1] < losses["webgpu"][0] * 0.9


def test_one_submit_per_readback_and_its_cost(in_pyodide, capsys):
    """A chain of small kernels records dispatches without waiting; the readback submits them
    in one command buffer and waits once (JSPI). Reports the cost of one wait."""
    r = in_pyodide.check("""
import json, time, webdl
dev = webdl.device('webgpu').backend
x = webdl.randn(16, 16, device='webgpu')
x.sum().item()
s0 = dev.memory_stats()
y = x
for _ in range(10):
    y = (y @ x).tanh().sum(0, keepdim=True).expand(16, 16) * 0.01 + x
mid = dev.memory_stats()
v = y.sum().item()
s1 = dev.memory_stats()
t = webdl.ones(1, device='webgpu') * 2
t.item()
n = 50
t0 = time.perf_counter()
for _ in range(n):
    dev.sync()
sync_ms = (time.perf_counter() - t0) * 1000 / n
t0 = time.perf_counter()
for _ in range(n):
    (t + 1).item()
item_ms = (time.perf_counter() - t0) * 1000 / n
json.dumps([s0, mid, s1, sync_ms, item_ms, v])
""")
    s0, mid, s1, sync_ms, item_ms, _ = r
    assert mid["submits"] == s0["submits"] and mid["readbacks"] == s0["readbacks"], (s0, mid)
    assert mid["dispatches"] - s0["dispatches"] >= 20   # matmul, sum (reading its tanh), chain
    assert s1["submits"] == s0["submits"] + 1 and s1["readbacks"] == s0["readbacks"] + 1
    with capsys.disabled():
        print(f"\nwebgpu: an empty wait (flush + onSubmittedWorkDone through run_sync) "
              f"{sync_ms:.3f} ms; a one-op .item() {item_ms:.3f} ms")
    assert sync_ms < 50 and item_ms < 50


def test_large_work_is_submitted_before_the_readback(in_pyodide):
    """Once the queue holds enough workgroups (and a little time has passed), it is submitted
    without a readback, so the GPU starts while Python queues the rest; the buffers freed and
    the uniforms written between the submits stay right (checked against numpy)."""
    r = in_pyodide.check("""
import json, time
import numpy as np
import webdl
from webdl.backends.webgpu import bridge
dev = webdl.device('webgpu').backend
rng = np.random.default_rng(3)
a = rng.standard_normal((256, 256)).astype(np.float32) / 16
x = webdl.tensor(a, device='webgpu')
(((x @ x).tanh() * 1.0) @ x).sum().item()   # its pipelines compiled (a first run waits)
s0 = dev.memory_stats()
y, want = x, a
for i in range(12):
    y = (y @ x).tanh() * (1.0 + i / 8)      # a new uniform per step; y's last buffer freed
    want = np.tanh(want @ a) * (1.0 + i / 8)
    time.sleep(bridge._early_s * 1.5)        # as a model's Python between its layers
mid = dev.memory_stats()
got = y.numpy()
json.dumps([s0, mid, float(np.abs(got - want).max())])
""")
    s0, mid, err = r
    assert mid["submits"] - s0["submits"] >= 3, (s0, mid)   # before anything was read back
    assert mid["readbacks"] == s0["readbacks"]
    assert err < 1e-4


def test_a_first_run_waits_for_its_pipelines_instead_of_making_them_one_by_one(in_pyodide):
    """Dispatches of pipelines still compiling are held (not made synchronously, which would
    compile each twice and one after another) until the readback has awaited them; an upload
    or the statistics run what is held at once; nothing queued is lost or reordered."""
    r = in_pyodide.check("""
import json
import numpy as np
import webdl
dev = webdl.device('webgpu').backend
rng = np.random.default_rng(5)
a = rng.standard_normal((64, 64)).astype(np.float32) / 8
x = webdl.tensor(a, device='webgpu')
x.sum().item()
s0 = dev.memory_stats()
y = (((x * 0.37).sin().tan() - 0.5).sigmoid() @ x).abs().log1p().sqrt()   # new kernels
got = y.numpy()
s1 = dev.memory_stats()
want = np.sqrt(np.log1p(np.abs(1 / (1 + np.exp(0.5 - np.tan(np.sin(a * 0.37)))) @ a)))
# an upload while dispatches are held: they run first, then the upload
z = ((x * 0.61).cos().tan().exp() - 1.25).erf()
b = webdl.tensor(rng.standard_normal((64, 64)).astype(np.float32), device='webgpu')
got2 = (z * b).numpy()
from math import erf
want2 = np.vectorize(erf)(np.exp(np.tan(np.cos(a * 0.61))) - 1.25) * b.numpy()
json.dumps([s0, s1, float(np.abs(got - want).max()), float(np.abs(got2 - want2).max())])
""")
    s0, s1, err, err2 = r
    assert s1["held"] > s0["held"], (s0, s1)
    assert s1["pipesMadeSync"] == s0["pipesMadeSync"], (s0, s1)
    assert s1["pipelines"] > s0["pipelines"]
    assert err < 1e-4 and err2 < 1e-4


@pytest.mark.parametrize("dev,attr,value,src", [
    ("webgpu", "sum_coop", "tree", "array<vec4<f32>, 64>"),
    ("webgl", "stats_chunks", True, "u_chunks")])
def test_long_rows_statistics_run_in_parallel(in_pyodide, dev, attr, value, src):
    """On a hardware GPU (forced here) the row statistics of layer_norm and batch norm run
    long rows in parallel: a workgroup per row on WebGPU (layernorm_coop.wgsl), chunks
    summed by a second pass on WebGL (layernorm.glsl's CHUNKS). Batch norm's channels in
    training, forward and backward, with and without affine weights, and a layer norm over
    1600 values; against the numpy backend, and against the one invocation (fragment) per
    row of a software renderer."""
    r = in_pyodide.check(f"""
DEV, ATTR, VALUE, SRC = {dev!r}, {attr!r}, {value!r}, {src!r}"""
                         + """
import json, numpy as np, webdl
import webdl.nn as nn
import webdl.nn.functional as F
be = webdl.device(DEV).backend
rng = np.random.default_rng(41)
x = (rng.standard_normal((8, 3, 20, 20)) * 3 + 5).astype(np.float32)
y = rng.standard_normal((2, 5, 40, 40)).astype(np.float32)
w, b = rng.standard_normal((40, 40)).astype(np.float32), rng.standard_normal((40, 40)).astype(np.float32)

def run(dev):
    out = []
    for affine in (True, False):
        webdl.manual_seed(0)
        bn = nn.BatchNorm2d(3, affine=affine).to(dev)
        X = webdl.tensor(x, device=dev, requires_grad=True)
        h = bn(X)
        (h * h * h).sum().backward()
        out += [h.detach().numpy(), X.grad.numpy(), bn.running_var.numpy()]
        if affine:
            out += [bn.weight.grad.numpy(), bn.bias.grad.numpy()]
    Y, W, B = (webdl.tensor(v, device=dev, requires_grad=True) for v in (y, w, b))
    z = F.layer_norm(Y, (40, 40), W, B)
    (z * z.sin()).sum().backward()
    return out + [z.detach().numpy(), Y.grad.numpy(), W.grad.numpy()]

want = run('cpu')
saved = getattr(be, ATTR)
errs = {}
try:
    for v in (VALUE, None):
        setattr(be, ATTR, v)
        got = run(DEV)
        errs[str(v)] = max(float(np.abs(g - c).max() / max(1.0, float(np.abs(c).max())))
                           for g, c in zip(got, want))
finally:
    setattr(be, ATTR, saved)
if DEV == 'webgpu':
    ran = any(SRC in k[2] for k in be._progs if isinstance(k, tuple) and isinstance(k[2], str))
else:
    ran = "('CHUNKS', 1)" in str(list(be._pids))
json.dumps([errs, ran])
""")
    errs, ran = r
    assert ran, "the cooperative kernel did not run"
    assert max(errs.values()) < 5e-4, errs      # float32 sums of 3200 values, cubed


def test_fused_attention_kernels_match_numpy(in_pyodide):
    """Attention's fused kernels (one dispatch forward, two backward; hardware adapters
    only, so forced here on SwiftShader's) against the numpy backend, forward and backward,
    on every scaled_dot_product_attention case they take: causal or not, heads split by
    views, rows longer than a workgroup; the masked cases keep the composite."""
    r = in_pyodide.check(f"""
import json, opinfo, webdl
be = webdl.device('webgpu').backend
assert 'attention' not in be.fused      # a software adapter: the composite
be.fused = type(be).fused
try:
    cases = [c for c in opinfo.CASES if c.name.startswith('sdpa')]
    q = webdl.randn(2, 3, 4, device='webgpu', requires_grad=True)
    kinds = [type(webdl.nn.functional.scaled_dot_product_attention(q, q, q).grad_fn).__name__,
             type(webdl.nn.functional.scaled_dot_product_attention(
                 q, q, q, attn_mask=webdl.ones(3, 3, dtype=webdl.bool, device='webgpu')
             ).grad_fn).__name__]
    res = opinfo.run_all(cases, opinfo.Lib(webdl, 'webgpu'), opinfo.Lib(webdl, 'cpu'),
                         {RTOL}, {ATOL})
finally:
    be.fused = be.fused - webdl.backends.webgpu.attention.OPS
json.dumps([kinds, res])
""")
    kinds, res = r
    assert kinds == ["Attention", "Matmul"], kinds
    assert len(res) >= 10
    for name, (worst, _, msgs) in res.items():
        assert worst <= 1, f"{name} on webgpu, fused attention: " + "\n".join(msgs)


def test_a_wait_sends_commands_to_the_gpu_process_on_hardware_only(browser):
    """While a readback or sync waits, the bridge sends the GPU process a small command at
    every task turn (it then notices finished work sooner: on the H200 a 256x256 matmul read
    back in 1.7 ms instead of 3.9). Software adapters (SwiftShader here) do not, unless
    forced by ?poll=N; forced, values and the wait's result are unchanged."""
    assert browser.info["webgpu"]["poll"] == 0, browser.info["webgpu"]
    for mode in (1, 2):
        page = browser.new_page(f"?device=webgpu&poll={mode}")
        try:
            assert page.evaluate("() => webdl.ready")["webgpu"]["poll"] == mode
            r = browser.check("""
import json
import numpy as np
import webdl
dev = webdl.device('webgpu').backend
a = np.random.default_rng(3).standard_normal((96, 96)).astype(np.float32)
x = webdl.tensor(a)
s0 = dev.memory_stats()
y = (x @ x).relu()
dev.sync()
s1 = dev.memory_stats()
got = y.numpy()
s2 = dev.memory_stats()
json.dumps([s0["polls"], s1["polls"], s2["polls"], float(np.abs(got - np.maximum(a @ a, 0)).max())])
""", page)
            p0, p1, p2, err = r
            assert p0 < p1 < p2, r   # the sync polled, and so did the readback
            assert err < 1e-3
        finally:
            page.close()


def test_device_flag_makes_webgpu_the_default(browser):
    page = browser.new_page("?device=webgpu")
    try:
        info = page.evaluate("() => webdl.ready")
        assert info["backend"] == "webgpu" and info["why"] == "forced (device=webgpu)", info
        r = browser.check("import webdl, json\nx = webdl.arange(4) * 2.0\n"
                          "json.dumps([str(x.device), x.tolist()])", page)
        assert r == ["webgpu", [0.0, 2.0, 4.0, 6.0]]
    finally:
        page.close()


def test_forced_device_that_cannot_start_falls_back_and_says_why(browser):
    page = browser.new_page("?device=webgpu&webgpu=off")
    try:
        info = page.evaluate("() => webdl.ready")
        assert info["backend"] == "webgl", info
        assert "forced device 'webgpu' is not usable" in info["why"], info
    finally:
        page.close()


def test_device_loss_is_a_clear_error_and_a_new_device_works(in_pyodide):
    """GPUDevice.lost (here: destroy()) as WebGL's context loss: the next call fails with a
    clear error, a new device starts, old tensors refuse, new ones compute."""
    r = json.loads(in_pyodide.check("""
import json, webdl
from webdl.backends.webgpu import bridge
old = webdl.arange(6, device='webgpu') * 3.0
before = old.tolist()
bridge.wait(bridge._gpu.loseDevice())
errors = []
try:
    (webdl.ones(2, device='webgpu') + 1).tolist()
except RuntimeError as e:
    errors.append(str(e))
new = (webdl.arange(4, device='webgpu') * 2.0 + 1).tolist()   # the new device
try:
    (old + 1).tolist()
except RuntimeError as e:
    errors.append(str(e))
json.dumps(json.dumps([before, errors, new, bridge.generation()]))
"""))
    before, errors, new, gen = r
    assert before == [0.0, 3.0, 6.0, 9.0, 12.0, 15.0]
    assert len(errors) == 2, errors
    assert "GPU device was lost" in errors[0] and "started a new one" in errors[0], errors
    assert "device that was lost" in errors[1], errors
    assert new == [1.0, 3.0, 5.0, 7.0] and gen >= 1


def test_missing_kernel_and_freed_tensor_errors(in_pyodide):
    r = in_pyodide.run("import webdl\nt = webdl.ones(3, device='webgpu')\nt.free_()\n(t + 1).numpy()")
    assert not r["ok"] and "GPU memory was already freed" in r["error"], r
    r = json.loads(in_pyodide.check("""
import json, webdl
from webdl.backends.webgpu import registry
class Fake:
    elementwise = True
got = registry.missing({}, {'fancy': Fake, 'sin': Fake}, {'sin'})
json.dumps(json.dumps(got))
"""))
    assert r == ["fancy"]


def test_compile_error_is_named_at_the_next_readback(in_pyodide):
    """Pipelines are made without waiting: a kernel that doesn't compile is named (with the
    line) when Python next waits on the device, and the device goes on working."""
    r = in_pyodide.run("""
import webdl
from webdl.backends.webgpu import bridge
t = webdl.ones(3, device='webgpu')
pid = bridge._gpu.compile("broken|X=1", "@compute @workgroup_size(1) fn main() { let a: f32 = nope; }")
(t * 2).numpy()
""")
    assert not r["ok"] and "kernel 'broken' does not compile" in r["error"] and \
        "nope" in r["error"], r
    assert in_pyodide.check("import webdl, json; json.dumps((webdl.ones(3, device='webgpu') * 2)"
                            ".tolist())") == [2.0, 2.0, 2.0]


def test_pixels_move_as_bytes_and_match_the_host_conversion(in_pyodide):
    """The SR app's transfers (webdl.tensor.from_pixels / to_pixels): WebGPU uploads the bytes
    and packs four results a word; the values equal numpy's conversion on every backend --
    halves rounded to even, values past 0..255 clamped, lengths not a multiple of 4."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
from webdl.tensor import from_pixels, to_pixels
rng = np.random.default_rng(3)
img = rng.integers(0, 256, (5, 7, 3)).astype(np.uint8)
vals = np.concatenate([rng.uniform(-40, 300, 1001), [2.5, 3.5, -0.5, 254.5, 255.5, 0.49999997],
                       np.arange(0, 256)]).astype(np.float32)
want = np.clip(np.rint(vals), 0, 255).astype(np.uint8)
out = {}
for dev in ('cpu', 'webgl', 'webgpu'):
    x = from_pixels(img, 1 / 255.0, device=dev)
    back = to_pixels(webdl.tensor(vals, device=dev)[:-1])
    out[dev] = [x.dtype == webdl.float32, list(x.shape) == [5, 7, 3],
                bool((x.cpu().numpy() == img.astype(np.float32) * np.float32(1 / 255.0)).all()),
                back.dtype == np.uint8, bool((back == want[:-1]).all()),
                to_pixels(webdl.zeros(0, device=dev)).shape == (0,)]
json.dumps(out)
""")
    assert all(all(v) for v in r.values()), r


def test_every_matmul_kernel_matches_numpy(in_pyodide):
    """The tiled kernel (workgroup memory; hardware adapters) in each workgroup shape the
    kernel choice picks from, and the direct one (software adapters, the default here), on
    odd, batched, broadcast and transposed operands: each variant forced as ?kernels=
    forces it, and the built-in choice with and without the tiled kernel."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
be = webdl.device('webgpu').backend
rng = np.random.default_rng(7)
shapes = [((1, 1), (1, 1)), ((70, 33), (33, 129)), ((3, 65, 17), (17, 5)),
          ((2, 1, 9, 40), (3, 40, 70)), ((130, 300), (300, 2)),
          ((20, 50), (50, 300)), ((16, 20), (20, 600))]     # the flatter tiles (few rows)
errs = {}
default = be.matmul_tiled
runs = [(None, True), (None, False)] + [(v, default) for v in be.kernels.families['matmul']]
for forced, tiled in runs:
    be.matmul_tiled = tiled
    be.kernels.force('matmul', forced)
    for sa, sb in shapes:
        a = rng.standard_normal(sa).astype(np.float32)
        b = rng.standard_normal(sb[:-2] + sb[-1:] + sb[-2:-1]).astype(np.float32)
        ta = webdl.tensor(a, device='webgpu')
        tb = webdl.tensor(b, device='webgpu').transpose(-1, -2)     # read in place
        want = a @ np.swapaxes(b, -1, -2)
        errs[f'{forced} {tiled} {sa} {sb}'] = float(
            np.abs((ta @ tb).numpy() - want).max() / max(1, np.abs(want).max()))
be.matmul_tiled = default
be.kernels.force('matmul', None)
json.dumps(errs)
""")
    assert len(r) == 6 * 7 and max(r.values()) < 1e-5, r


def test_cooperative_sum_matches_numpy(in_pyodide):
    """The cooperative sum (a workgroup per output; hardware adapters) with each combine it
    has -- subgroupAdd where the device has subgroups, the tree in workgroup memory -- and
    the one-invocation-per-output kernel (software adapters, the default here): long and
    short rows, the last and other axes, strided views, chunks combined in a second pass,
    against numpy; the sum's gradient still flows."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
from webdl.backends import webgpu
be = webdl.device('webgpu').backend
rng = np.random.default_rng(3)
cases = [((5, 1000), (1,)), ((3, 70, 40), (0, 2)), ((100_000,), (0,)), ((64, 63), (0,)),
         ((2, 9000), (1,)), ((4, 5, 6), (2,)), ((1, 1 << 14), (1,)), ((33, 65), None)]
default = be.sum_coop
combines = ['tree', None] + (['subgroup'] if be.info.get('subgroups') else [])
errs = {}
for coop in combines:
    be.sum_coop = coop
    for shape, axes in cases:
        a = rng.standard_normal(shape).astype(np.float32)
        t = webdl.tensor(a, device='webgpu')
        views = [(t, a)] + ([(t.transpose(0, -1), np.swapaxes(a, 0, -1))] if len(shape) > 1 else [])
        for tv, av in views:
            got = (tv.sum() if axes is None else tv.sum(dim=axes)).numpy()
            want = av.sum() if axes is None else av.sum(axis=axes)
            errs[f'{coop} {shape} {axes} {tv.shape}'] = float(
                np.abs(got - want).max() / max(1.0, float(np.abs(want).max())))
    x = webdl.tensor(rng.standard_normal((3, 500)).astype(np.float32), device='webgpu',
                     requires_grad=True)
    (x * x).sum(dim=1).sum().backward()
    errs[f'{coop} grad'] = float(np.abs(x.grad.numpy() - 2 * x.detach().numpy()).max())
be.sum_coop = default
json.dumps([errs, be.info.get('subgroups'), webgpu.COOP_CHUNK])
""")
    errs, subgroups, _ = r
    assert len(errs) == (2 + bool(subgroups)) * 16 and max(errs.values()) < 1e-5, r


def test_reduction_computes_its_input_chain_where_it_reads_it(in_pyodide):
    """A reduction of a lazy elementwise chain reads the chain through reduce.wgsl's value_at()
    (codegen's value mode): no dispatch of its own for the chain, so as many dispatches as
    the same reduction of a computed buffer. "dense" (software adapters) fuses chains whose
    inputs are read at the position itself, "strided" (hardware) also broadcast biases,
    slices and transposed views; each with the cooperative sum and without. Values match
    numpy: sums (short, long in chunks, all axes), max, argmax, a reshaped chain, ints, and
    the chain read again afterwards."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
be = webdl.device('webgpu').backend
rng = np.random.default_rng(6)
f = lambda *s: rng.standard_normal(s).astype(np.float32)
a, b, c, w = f(6, 300), f(6, 300), f(300), f(6, 600)
ta, tb, tc, tw = (webdl.tensor(v, device='webgpu') for v in (a, b, c, w))
i = rng.integers(-4, 4, (5, 9))
ti = webdl.tensor(i, device='webgpu')
def dispatches(fn):
    d0 = be.memory_stats()['dispatches']
    v = fn().numpy()
    return v, be.memory_stats()['dispatches'] - d0
cases = [   # (chain, reduction, numpy), strided: whether an input is read strided
    (lambda: ta * tb + 1.0, lambda y: y.sum(1), (a * b + 1).sum(1), False),
    (lambda: (ta - tb).exp(), lambda y: y.sum(0), np.exp(a - b).sum(0), False),
    (lambda: ta * tb, lambda y: y.sum(), (a * b).sum(), False),
    (lambda: ta * 2.0, lambda y: y.amax(1), (a * 2).max(1), False),
    (lambda: ta * tb, lambda y: y.argmax(1), (a * b).argmax(1), False),
    (lambda: ti * 3 + 1, lambda y: y.sum(1), (i * 3 + 1).sum(1), False),
    (lambda: (ta + tb).reshape(6, 30, 10), lambda y: y.sum(2),
     (a + b).reshape(6, 30, 10).sum(2), False),
    (lambda: ta * tc + 0.5, lambda y: y.sum(0), (a * c + 0.5).sum(0), True),      # a bias
    (lambda: tw[:, 100:400] - ta, lambda y: y.sum(1), (w[:, 100:400] - a).sum(1), True),
    (lambda: ta.t() * 3.0, lambda y: y.sum(0), (a.T * 3).sum(0), True),
]
saved = (be.fuses_reads, be.sum_coop)
out = []
try:
    for coop in (None, 'tree'):
        be.sum_coop = coop
        for mode in ('dense', 'strided'):
            be.fuses_reads = mode
            for chain, red, want, strided in cases:
                y = chain()
                got, n = dispatches(lambda: red(y))
                y = chain()
                webdl.Tensor._realize_all(y)
                _, plain = dispatches(lambda: red(y))
                out.append([coop, mode, strided, float(np.abs(got - want).max()), n, plain])
finally:
    be.fuses_reads, be.sum_coop = saved
y = ta * tb
s = y.sum(1)
again = float(np.abs(y.numpy() - a * b).max() + np.abs(s.numpy() - (a * b).sum(1)).max())
json.dumps([out, again])
""")
    rows, again = r
    assert all(err < 1e-3 for _, _, _, err, _, _ in rows) and again < 1e-3, r
    for coop, mode, strided, _, n, plain in rows:
        # the chain read where the reduction reads it, or one dispatch of its own first
        assert n == plain + (strided and mode == "dense"), (coop, mode, strided, n, plain)


def test_conv2d_im2col_path_matches_numpy(in_pyodide):
    """Convolutions past conv.DIRECT_MAX_TAPS taps per output run as im2col + matmul (with
    padding, stride, dilation, bias), forward and backward, against the numpy backend."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
import webdl.nn.functional as F
from webdl.backends.webgpu import conv
rng = np.random.default_rng(11)
x = rng.standard_normal((2, 130, 9, 8)).astype(np.float32)
w = (rng.standard_normal((5, 130, 3, 3)) * 0.1).astype(np.float32)
b = rng.standard_normal(5).astype(np.float32)
assert 130 * 9 > conv.DIRECT_MAX_TAPS
out = {}
for dev in ('cpu', 'webgpu'):
    X, W, B = (webdl.tensor(v, device=dev, requires_grad=True) for v in (x, w, b))
    y = F.conv2d(X, W, B, stride=(2, 1), padding=(1, 2), dilation=(1, 2))
    (y * y).sum().backward()
    out[dev] = [y.detach().numpy(), X.grad.numpy(), W.grad.numpy(), B.grad.numpy()]
json.dumps([float(np.abs(g - c).max() / max(1.0, float(np.abs(c).max())))
            for g, c in zip(out['webgpu'], out['cpu'])])
""")
    assert max(r) < 1e-4, r


def test_conv2d_tiled_product_matches_numpy(in_pyodide):
    """The hardware adapters' convolutions, forced here on the fallback adapter: the tiled
    product (matmul.wgsl with conv2d_operands.wgsl: patches gathered as tiles load) and,
    for few output channels, conv2d_few.wgsl -- padding, stride, dilation, bias, a batch, a
    weight read in place from a view and one copied, sizes past one 64x64 tile, an image
    made by an elementwise chain with a per-channel scale (as the previous layer's bias and
    activation make it); and conv2d_few's longer sums, with fewer positions a workgroup: a
    weight's gradient over few positions, one past the tiled product's taps (im2col
    otherwise). Forward and backward, against the numpy backend."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
import webdl.nn.functional as F
be = webdl.device('webgpu').backend
rng = np.random.default_rng(12)
x = rng.standard_normal((2, 6, 11, 13)).astype(np.float32)
sc = rng.standard_normal((6, 1, 1)).astype(np.float32)
errs = []

def check(x, w, b=None, view=False, **kw):
    out = {}
    for dev in ('cpu', 'webgpu'):
        X, W = (webdl.tensor(v, device=dev, requires_grad=True) for v in (x, w))
        B = None if b is None else webdl.tensor(b, device=dev, requires_grad=True)
        Wv = W.permute(1, 0, 2, 3).contiguous().permute(1, 0, 2, 3) if view else W
        Wv = Wv[:, :, :, :] if not view else Wv.flip(3).flip(3)
        Xin = F.leaky_relu(X * webdl.tensor(sc, device=dev) + 0.25, 0.1) if view else X
        y = F.conv2d(Xin, Wv, B, **kw)
        (y * y).sum().backward()
        out[dev] = [y.detach().numpy(), X.grad.numpy(), W.grad.numpy()] + \
            ([] if B is None else [B.grad.numpy()])
    errs.extend(float(np.abs(g - c).max() / max(1.0, float(np.abs(c).max())))
                for g, c in zip(out['webgpu'], out['cpu']))

be.conv_tiled = True
try:
    for o in (70, 20, 4):             # 64-row tiles, a flatter one, conv2d_few (few channels)
        w = (rng.standard_normal((o, 6, 3, 2)) * 0.1).astype(np.float32)
        b = rng.standard_normal(o).astype(np.float32)
        check(x, w, b, stride=(1, 1), padding=(1, 0), dilation=(1, 1))
        check(x, w, b, view=True, stride=(2, 1), padding=(2, 1), dilation=(2, 1))
    # the first weight's gradient sums 6400 taps: past the tiled product's limit
    for xs, ws in (((4, 2, 40, 40), (4, 2, 3, 3)), ((2, 3, 30, 30), (4, 3, 3, 3)),
                   ((3, 2, 17, 9), (16, 2, 5, 5))):
        check(rng.standard_normal(xs).astype(np.float32),
              rng.standard_normal(ws).astype(np.float32), padding=1)
finally:
    be.conv_tiled = False
json.dumps(errs)
""")
    assert len(r) == 6 * 4 + 3 * 3 and max(r) < 1e-4, r


def test_conv_bias_and_activation_run_in_the_products_store(in_pyodide):
    """On a hardware adapter (forced here) the convolution's dispatch waits until its output
    is used, so that the chain reading it -- bias, activation, a residual add -- is computed
    in the product's store: one dispatch per layer instead of two. Whatever else uses the
    product first gets it computed plainly, once: a write into its weight or image before it
    ran, a second reader of the pre-activation (as autograd keeps), a readback of a product
    without bias. Against the numpy backend."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
import webdl.nn.functional as F
be = webdl.device('webgpu').backend
rng = np.random.default_rng(21)
x = rng.standard_normal((2, 6, 9, 11)).astype(np.float32)
w = (rng.standard_normal((10, 6, 3, 3)) * 0.2).astype(np.float32)
b = rng.standard_normal(10).astype(np.float32)
w2 = (rng.standard_normal((6, 10, 3, 3)) * 0.2).astype(np.float32)

def rel(a, c):
    return float(np.abs(a - c).max() / max(1.0, float(np.abs(c).max())))

def block(dev, X, W, B, W2):
    h = F.leaky_relu(F.conv2d(X, W, B, padding=1), 0.2)
    return F.conv2d(h, W2, padding=1) * 0.5 + X       # no bias: the residual add's chain

out, counts = {}, {}
be.conv_tiled = True
try:
    with webdl.no_grad():
        for dev in ('cpu', 'webgpu'):
            X, W, B, W2 = (webdl.tensor(v, device=dev) for v in (x, w, b, w2))
            X.numpy()
            s0 = be.memory_stats()
            out['block', dev] = block(dev, X, W, B, W2).numpy()
            counts['block'] = be.memory_stats()['dispatches'] - s0['dispatches']
            y = F.conv2d(X, W, B, padding=1)              # not run yet on webgpu ...
            W.add_(1.0)                                   # ... when its weight changes
            X.mul_(2.0)                                   # ... and its image
            out['written', dev] = F.relu(y).numpy()
            W.sub_(1.0)
            X.div_(2.0)
            X.numpy(), W.numpy()                          # (the in-place ops' passes)
            s0 = be.memory_stats()
            h = F.conv2d(X, W, B, padding=1)              # two readers of the pre-activation
            a, c = F.relu(h), h * 3.0
            out['two', dev] = np.concatenate([a.numpy(), c.numpy()])
            counts['two'] = be.memory_stats()['dispatches'] - s0['dispatches']
            out['raw', dev] = F.conv2d(X, W).numpy()           # read back as it is
finally:
    be.conv_tiled = False
json.dumps([{k: rel(out[k, 'webgpu'], out[k, 'cpu']) for k in ('block', 'written', 'two', 'raw')},
            counts])
""")
    errs, counts = r
    assert max(errs.values()) < 1e-5, errs
    assert counts["block"] == 2, counts       # each convolution with its chain: no other pass
    assert counts["two"] == 3, counts         # the product once, then each reader's chain


def test_superres_with_the_convolutions_epilogues_matches_numpy(in_pyodide):
    """esrgan-slim x2 (dense blocks: cats, residual adds, a pixel shuffle) through the tiled
    convolution with its epilogues (and the few-channel kernel, the cats read in parts),
    forced on the fallback adapter: the same pixels as the numpy backend (within 1 LSB), in
    fewer dispatches than without the epilogues; and through webdl.compile's recording and
    replays, as the app runs it."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
import webdl.apps.superres as sr
be = webdl.device('webgpu').backend
img = (np.random.default_rng(5).random((12, 12, 3)) * 255).astype(np.uint8)
want = sr.load('esrgan-slim', 2, device='cpu')._run(img)
up = sr.load('esrgan-slim', 2, device='webgpu')
up._run_model = up._run_model.__wrapped__       # plain Python: no recording
got, count = {}, {}
be.conv_tiled = True
try:
    for epi in (True, False):
        be.conv_epilogue = epi
        s0 = be.memory_stats()
        got[epi] = up._run(img)
        count[epi] = be.memory_stats()['dispatches'] - s0['dispatches']
    be.conv_epilogue = True
    rec = sr.load('esrgan-slim', 2, device='webgpu')  # recorded on the 2nd call, replayed
    replays = [int(np.abs(rec._run(img).astype(int) - want.astype(int)).max())
               for _ in range(3)]
finally:
    be.conv_tiled, be.conv_epilogue = False, True
json.dumps([int(np.abs(got[e].astype(int) - want.astype(int)).max()) for e in (True, False)]
           + [count[True], count[False], max(replays)])
""")
    d_on, d_off, n_on, n_off, d_replay = r
    print(f"\nesrgan-slim x2 12x12, tiled on the fallback adapter: largest difference "
          f"{d_on} LSB with epilogues ({n_on} dispatches), {d_off} without ({n_off})")
    assert d_on <= 1 and d_off <= 1 and d_replay <= 1, r
    assert n_on < n_off, r


def test_a_cat_feeding_a_convolution_is_read_in_its_parts(in_pyodide):
    """On a hardware adapter (forced here) a cat of two images along the channels waits
    (bridge.defer), and a convolution reading it -- the tiled product, or the kernel for
    few output channels -- gathers from the two parts: the cat never runs (a dense block's
    cat before its 1x1 convolution). Read otherwise -- back to the host, by an elementwise
    op, by the backward -- it runs then. A batch of 2, stride and padding, the bias and
    activation in the store; forward and backward against the numpy backend."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
import webdl.nn.functional as F
be = webdl.device('webgpu').backend
rng = np.random.default_rng(31)
a = rng.standard_normal((2, 3, 7, 8)).astype(np.float32)
b = rng.standard_normal((2, 5, 7, 8)).astype(np.float32)
ws = {o: (rng.standard_normal((o, 8, 3, 3)) * 0.2).astype(np.float32) for o in (20, 4)}
bias = {o: rng.standard_normal(o).astype(np.float32) for o in (20, 4)}

def rel(g, c):
    return float(np.abs(g - c).max() / max(1.0, float(np.abs(c).max())))

errs, counts = {}, {}
be.conv_tiled = True
try:
    for o in (20, 4):
        out = {}
        for dev in ('cpu', 'webgpu'):
            A, B, W, Bi = (webdl.tensor(v, device=dev, requires_grad=True)
                           for v in (a, b, ws[o], bias[o]))
            with webdl.no_grad():
                x = webdl.cat([A * 2.0, F.relu(B)], 1)
                s0 = be.memory_stats()
                y = F.relu(F.conv2d(x, W, Bi, stride=(2, 1), padding=1))
                got = y.numpy()
                counts[o] = be.memory_stats()['dispatches'] - s0['dispatches']
                out['plain'] = out.get('plain', []) + [got]
                x2 = webdl.cat([A, B], 1)                  # read back too: it runs
                y2 = F.conv2d(x2, W, padding=(0, 1))
                out['read'] = out.get('read', []) + [np.concatenate(
                    [y2.numpy().ravel(), x2.numpy().ravel(), (x2 + 1.0).numpy().ravel()])]
            x = webdl.cat([A * 2.0, B], 1)                 # the backward reads it
            y = F.conv2d(x, W, Bi, padding=1)
            (y * y).sum().backward()
            out['grad'] = out.get('grad', []) + [np.concatenate(
                [y.detach().numpy().ravel(), A.grad.numpy().ravel(), B.grad.numpy().ravel(),
                 W.grad.numpy().ravel(), Bi.grad.numpy().ravel()])]
        for k, (c, g) in out.items():
            errs[f'{o} {k}'] = rel(g, c)
finally:
    be.conv_tiled = False
json.dumps([errs, counts])
""")
    errs, counts = r
    assert max(errs.values()) < 1e-5, errs
    # the parts were made by the cat's call; then only the convolution with its chain
    assert counts == {"20": 1, "4": 1}, counts


def test_a_cat_of_many_parts_feeding_a_convolution_and_a_chain_reading_a_cat(in_pyodide):
    """A cat of up to the bindings' worth of parts (a convolution binds its weight, the parts,
    its bias and its output: conv.cat_parts) is read by the convolution in its parts; past
    that its first parts are concatenated into one first (one cat dispatch); the tiled
    product in two workgroup shapes and the few-channel kernel. An elementwise chain reading
    a cat that waits runs the cat's copy first (the chain is not its epilogue: a cat's copy
    has none), in two passes where the parts are more than cat.wgsl reads. Against numpy."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
import webdl.nn.functional as F
be = webdl.device('webgpu').backend
rng = np.random.default_rng(37)
errs, counts = {}, {}
from webdl.backends.webgpu.conv import cat_parts
most = cat_parts(be)
be.conv_tiled = True
try:
    for parts in (3, most, most + 4):
        xs = [rng.standard_normal((2, 1 + j % 3, 6, 5)).astype(np.float32) for j in range(parts)]
        x = np.concatenate(xs, 1)
        X = [webdl.tensor(v, device='webgpu') for v in xs]
        for o in (20, 4):
            w = (rng.standard_normal((o, x.shape[1], 3, 3)) * 0.2).astype(np.float32)
            bias = rng.standard_normal(o).astype(np.float32)
            want = F.relu(F.conv2d(*(webdl.tensor(v) for v in (x, w, bias)), padding=1)).numpy()
            W, B = webdl.tensor(w, device='webgpu'), webdl.tensor(bias, device='webgpu')
            for k in ('t16x16', 't32x8', 'few'):
                be.kernels.force('conv2d', k)
                s0 = be.memory_stats()['dispatches']
                c = webdl.cat(X, 1)
                s1 = be.memory_stats()['dispatches']
                got = F.relu(F.conv2d(c, W, B, padding=1)).numpy()
                counts[f'{parts} {o} {k}'] = [s1 - s0, be.memory_stats()['dispatches'] - s1]
                errs[f'{parts} {o} {k}'] = float(np.abs(got - want).max() /
                                                 max(1.0, float(np.abs(want).max())))
            be.kernels.force('conv2d', None)
        got = (webdl.cat(X, 1) * 2.0).relu().numpy()
        errs[f'{parts} chain'] = float(np.abs(got - np.maximum(x * 2.0, 0)).max())
    # an adapter with 16 bindings a kernel (the H200's): the last cat's parts (more than
    # eight) wait whole; read by a chain, the copy takes two passes (cat.wgsl reads eight)
    assert len(X) > 8
    bindings, be.max_bindings = be.max_bindings, 16
    try:
        got = (webdl.cat(X, 1) * 2.0).relu().numpy()
    finally:
        be.max_bindings = bindings
    errs['16 bindings chain'] = float(np.abs(got - np.maximum(x * 2.0, 0)).max())
finally:
    be.conv_tiled = False
json.dumps([errs, counts, most])
""")
    errs, counts, most = r
    assert max(errs.values()) < 1e-5, errs
    # the cat's call: one cat of the first parts where there are more than `most`, else
    # none; then the convolution alone (forcing 'few' on 20 channels runs the built-in one)
    assert counts == {f"{p} {o} {k}": [int(p > most), 1] for p in (3, most, most + 4)
                      for o in (20, 4) for k in ("t16x16", "t32x8", "few")}, counts


def test_every_conv_kernel_matches_numpy(in_pyodide):
    """The convolution's variants the kernel choice picks from on a hardware adapter (the
    tiled product in each workgroup shape, the direct kernel, the one for few output
    channels), each forced, against numpy."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
import webdl.nn.functional as F
be = webdl.device('webgpu').backend
rng = np.random.default_rng(13)
x = rng.standard_normal((2, 5, 10, 9)).astype(np.float32)
w = (rng.standard_normal((12, 5, 3, 3)) * 0.1).astype(np.float32)
b = rng.standard_normal(12).astype(np.float32)
want = F.conv2d(*(webdl.tensor(v) for v in (x, w, b)), stride=(2, 1), padding=1).numpy()
X, W, B = (webdl.tensor(v, device='webgpu') for v in (x, w, b))
errs = {}
try:
    for v in be.kernels.families['conv2d']:
        be.kernels.force('conv2d', v)
        got = F.conv2d(X, W, B, stride=(2, 1), padding=1).numpy()
        errs[v] = float(np.abs(got - want).max() / max(1.0, float(np.abs(want).max())))
finally:
    be.kernels.force('conv2d', None)
json.dumps(errs)
""")
    assert set(r) == {"t64x4", "t32x8", "t16x16", "direct", "few"} and max(r.values()) < 1e-5, r


def test_profiler_times_each_dispatch_or_names_the_missing_feature(in_pyodide):
    """bench.kernel_profile on WebGPU: timestamp queries, one compute pass per dispatch; an
    adapter without them (SwiftShader's, at the time of writing) gives a clear error."""
    r = json.loads(in_pyodide.check("""
import json, webdl
from webdl.backends.webgpu import bridge
has = 'timestamp-query' in bridge.probe()['features']
a = webdl.randn(64, 64, device='webgpu')
try:
    bridge.start_profile()
    ((a @ a) * 2.0 + 1.0).numpy()
    out = bridge.stop_profile()
except RuntimeError as e:
    out = str(e)
json.dumps(json.dumps([has, out]))
"""))
    has, out = r
    if has:
        assert isinstance(out, dict), out
        names = {k.split("|")[0]: v for k, v in out.items()}
        assert names["matmul_direct"][0] == 1 and names["elementwise"][0] == 1, out
        assert all(v[1] >= 0 for v in out.values()), out
    else:
        assert "no timestamp queries ('timestamp-query')" in out, out


def test_queued_commands_keep_statistics_and_the_budget_error_clear(browser):
    """Allocations, dispatches and frees are queued in Python and sent in one call per
    readback (gpu.js's exec); the memory statistics still count every buffer, and an
    allocation past the budget (?gpumem=1: 1 MiB) fails where it is made, clearly, and
    leaves the device usable."""
    page = browser.new_page("?device=webgpu&gpumem=1")
    try:
        r = browser.check("""
import gc, json, webdl
dev = webdl.device('webgpu').backend
x = webdl.randn(16, 16, device='webgpu')     # small: no early submit (bridge.EARLY_GROUPS)
x.sum().item()
gc.collect()
s0 = dev.memory_stats()
y = x
for _ in range(10):
    y = (y @ x).tanh().sum(0, keepdim=True).expand(16, 16) * 0.01 + x
v = y.sum().item()
mid = dev.memory_stats()
gc.collect()    # the chain's tensors hold reference cycles (so before this change too)
s1 = dev.memory_stats()
keep = [webdl.randn(16384, device='webgpu') for _ in range(3)]   # 64 KiB each
s2 = dev.memory_stats()
err = None
try:
    webdl.randn(300000, device='webgpu')                            # 1.2 MB > 1 MiB
except RuntimeError as e:
    err = str(e)
del keep
s3 = dev.memory_stats()
after = (webdl.arange(4, device='webgpu') * 2.0).tolist()
json.dumps([s0, mid, s1, s2, s3, err, after])
""", page)
    finally:
        page.close()
    s0, mid, s1, s2, s3, err, after = r
    assert mid["dispatches"] - s0["dispatches"] >= 20   # matmul, sum (reading its tanh), chain
    assert mid["execs"] - s0["execs"] <= 2, (s0, mid)        # not one call per op
    assert mid["submits"] == s0["submits"] + 1
    assert s1["buffers"] == s0["buffers"] + 1 and s1["bytes"] == s0["bytes"] + 1024, (s0, s1)
    assert s2["buffers"] == s1["buffers"] + 3 and s2["bytes"] == s1["bytes"] + 3 * 65536
    assert err is not None and "out of GPU memory budget" in err and "cap 1 MiB" in err, err
    assert s3["buffers"] == s1["buffers"] and s3["bytes"] == s1["bytes"], (s1, s3)
    assert after == [0.0, 2.0, 4.0, 6.0]
