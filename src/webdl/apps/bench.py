"""The webdl side of ``python -m webdl_tools bench`` (runs in the browser worker).

Each case is prepared once by ``setup(name)`` and timed by ``run(name)``, which returns the
milliseconds of one iteration, synchronised by reading the result back to Python (as the
TensorFlow.js side does with ``await tensor.data()``). web/js/bench.js holds the same cases
for TensorFlow.js and alternates the two.
"""
import contextlib
import importlib
import io
import json
import os
import sys
import time

import numpy as np

import webdl
import webdl.nn as nn
import webdl.nn.functional as F
from ..backends import webgl, webgpu
from . import superres

_CASES = {}


def _rng():
    return np.random.default_rng(0)


def case(name):
    def deco(fn):
        _CASES[name] = fn
        return fn
    return deco


@case("matmul")
def _matmul(n):
    r = _rng()
    a = webdl.tensor(r.standard_normal((n, n)).astype(np.float32))
    b = webdl.tensor(r.standard_normal((n, n)).astype(np.float32))
    return _Work(lambda: a @ b, lambda y: y.numpy())


@case("conv2d")
def _conv2d(size=128, ch=64):
    r = _rng()
    x = webdl.tensor(r.standard_normal((1, ch, size, size)).astype(np.float32))
    w = webdl.tensor((r.standard_normal((ch, ch, 3, 3)) * 0.05).astype(np.float32))
    b = webdl.tensor(r.standard_normal(ch).astype(np.float32))
    return lambda: F.conv2d(x, w, b, padding="same").numpy()


@case("elementwise")
def _elementwise(n=1 << 20):
    r = _rng()
    x, w, b, s = (webdl.tensor(r.standard_normal(n).astype(np.float32)) for _ in range(4))
    return lambda: ((x * w + b).relu() * s).numpy()


@case("esrgan")
def _esrgan(model="esrgan-slim", scale=2, size=128, compiled=1, readback=1):
    """The app's model on a size x size patch; ``compiled=0``: its plain Python, not replayed
    (webdl.compile); ``readback=0``: the result not read back (a sync instead); 2: read back,
    not made pixels; 3: a sync, then read back."""
    up = superres.load(model, scale)
    if not compiled:
        up._run_model = up._run_model.__wrapped__
    img = (_rng().random((size, size, 3)) * 255).astype(np.uint8)
    be = webdl.zeros(1).device.backend
    sync = {0: lambda y: be.sync(), 1: up._pixels, 2: lambda y: y.numpy(),
            3: lambda y: (be.sync(), y.numpy())}[readback]
    return _Work(lambda: up._forward(img), sync)


@case("sum")
def _sum(rows=1, n=1 << 24):
    """The sums of ``rows`` rows of ``n / rows`` values each."""
    x = webdl.tensor(_rng().standard_normal((rows, n // rows)).astype(np.float32))
    return _Work(lambda: x.sum(dim=1), lambda y: y.numpy())


@case("softmax")
def _softmax(rows=2048, cols=1024):
    """softmax, log_softmax, layer_norm and cross_entropy of one (rows, cols) input, their
    means summed and read back (web/js/bench.js does the same with TensorFlow.js)."""
    r = _rng()
    x = webdl.tensor(r.standard_normal((rows, cols)).astype(np.float32))
    g, b = webdl.ones(cols), webdl.zeros(cols)
    y = webdl.tensor(r.integers(0, cols, rows))
    return _Work(lambda: F.softmax(x, -1).mean() + F.log_softmax(x, -1).mean()
                 + F.layer_norm(x, (cols,), g, b).mean() + F.cross_entropy(x, y),
                 lambda t: t.item())


@case("attention")
def _attention(heads=8, seq=128, dim=64):
    """Attention over (1, heads, seq, dim) and its gradients: d sum(attention(q, k, v)^2) by
    q, k and v, their sums read back (TensorFlow.js: the same through tf.grads)."""
    r = _rng()
    q, k, v = (webdl.tensor(r.standard_normal((1, heads, seq, dim)).astype(np.float32),
                            requires_grad=True) for _ in range(3))

    def work():
        for t in (q, k, v):
            t.grad = None
        (F.scaled_dot_product_attention(q, k, v) ** 2).sum().backward()
        return q.grad.sum() + k.grad.sum() + v.grad.sum()
    return _Work(work, lambda t: t.item())


@case("transfer")
def _transfer(n=1 << 20, up=0):
    """Moving ``n`` floats: doubled on the GPU and read back (``up=0``), or uploaded and summed."""
    x = webdl.tensor(_rng().standard_normal(n).astype(np.float32))
    a = np.ones(n, np.float32)
    if up:
        return _Work(lambda: webdl.tensor(a).sum(), lambda y: y.item())
    return _Work(lambda: x * 2.0, lambda y: y.numpy())


@case("train")
def _train(batch=32, size=16, compiled=0):
    """One Adam step of a small CNN with batch norm; ``compiled``: the step through
    webdl.compile (recorded on its second call, replayed after)."""
    webdl.manual_seed(0)
    r = _rng()
    x = webdl.tensor(r.standard_normal((batch, 1, size, size)).astype(np.float32))
    y = webdl.tensor(r.integers(0, 2, batch))
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(16, 2))
    return _adam_step(model, lambda x, y: F.cross_entropy(model(x), y), x, y, compiled)


# --- sequence models (issue #13): training steps of an LSTM and a transformer encoder, and
# generation from a tiny GPT. Each case is a _Work: ``work()`` issues the step (Python, the
# bridge's calls, the draws) and ``sync(result)`` reads its result back, so ``profile`` can
# tell the host's share of a step from the wait for the GPU.
class _Work:
    def __init__(self, work, sync):
        self.work, self.sync = work, sync

    def __call__(self):
        return self.sync(self.work())


def _adam_step(model, loss_fn, x, y, compiled=0):
    """One Adam step of ``model`` on ``loss_fn(x, y)``; ``compiled``: through webdl.compile."""
    opt = webdl.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(x, y)
        loss.backward()
        opt.step()
        return loss
    fn = webdl.compile(step) if compiled else step
    return _Work(lambda: fn(x, y), lambda loss: loss.item())


@case("lstm")
def _lstm(batch=32, seq=64, hidden=256, inp=64, layers=2, compiled=0):
    """One Adam step of a 2-layer LSTM (batch_first) with a linear head and an MSE loss."""
    webdl.manual_seed(0)
    r = _rng()
    x = webdl.tensor(r.standard_normal((batch, seq, inp)).astype(np.float32))
    y = webdl.tensor(r.standard_normal((batch, seq, inp)).astype(np.float32))
    lstm = nn.LSTM(inp, hidden, num_layers=layers, batch_first=True)
    head = nn.Linear(hidden, inp)
    return _adam_step(nn.ModuleList([lstm, head]),
                      lambda x, y: F.mse_loss(head(lstm(x)[0]), y), x, y, compiled)


@case("transformer")
def _transformer(batch=16, seq=64, d_model=128, heads=4, layers=4, ffn=512, compiled=0):
    """One Adam step of nn.TransformerEncoder (post-norm, ReLU, no dropout: the TF.js side
    has none) on an MSE loss."""
    webdl.manual_seed(0)
    r = _rng()
    x = webdl.tensor(r.standard_normal((batch, seq, d_model)).astype(np.float32))
    y = webdl.tensor(r.standard_normal((batch, seq, d_model)).astype(np.float32))
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(
        d_model, heads, ffn, dropout=0.0, batch_first=True), layers, enable_nested_tensor=False)
    return _adam_step(enc, lambda x, y: F.mse_loss(enc(x), y), x, y, compiled)


class _Block(nn.Module):
    """The notebook's "gpt" example's block: pre-norm causal self-attention, then a GELU MLP."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (u.view(b, t, self.heads, c // self.heads).transpose(1, 2) for u in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).contiguous().view(b, t, c))
        return x + self.mlp(self.ln2(x))


class _GPT(nn.Module):
    def __init__(self, vocab, d, heads, layers, context):
        super().__init__()
        self.context = context
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(context, d)
        self.blocks = nn.Sequential(*[_Block(d, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(webdl.arange(t, device=idx.device))
        return self.head(self.ln_f(self.blocks(x)))


@case("generate")
def _generate(tokens=200, vocab=65, d=128, heads=4, layers=4, context=64, compiled=0):
    """Greedy generation of ``tokens`` characters from the tiny GPT (no KV cache, the context
    cropped to its last ``context`` tokens, as the notebook's generate): the tokens stay on
    the GPU; one readback at the end. ``compiled``: the model through webdl.compile (its
    calls replayed once the context is full)."""
    webdl.manual_seed(0)
    model = _GPT(vocab, d, heads, layers, context).eval()
    if compiled:
        model = webdl.compile(model)

    @webdl.no_grad()
    def work():
        idx = webdl.zeros((1, 1), dtype=webdl.long)
        for _ in range(tokens):
            logits = model(idx[:, -context:])
            idx = webdl.cat([idx, logits[:, -1, :].argmax(-1, keepdim=True)], dim=1)
        return idx
    work.model = model
    return _Work(work, lambda idx: idx.numpy())


def profile(key):
    """Where one iteration of a _Work case goes: (primitive ops dispatched, WebGL draws,
    host microseconds per op, host ms, total ms, textures or buffers made rather than taken
    from the pool, ms spent inside the JS bridge's calls, WebGPU's readback: {readMs in all,
    preMs before mapAsync, mapMs waiting for it, scopeMs for the error scopes}). Host time is the time until the result is read back (Python, the
    bridge's calls; the GPU may work meanwhile), the ops counted at the backend's ``run`` in
    a second, untimed iteration."""
    fn = _ready[key]
    s0 = webdl.memory_stats()
    t0 = time.perf_counter()
    res = fn.work()
    t1 = time.perf_counter()
    fn.sync(res)
    t2 = time.perf_counter()
    s1 = webdl.memory_stats()
    draws = _count(s1) - _count(s0)
    made = sum(s1.get(k, 0) - s0.get(k, 0) for k in ("texturesMade", "buffersMade"))
    js = s1.get("runMs", 0) - s0.get("runMs", 0)
    waits = {k: s1[k] - s0[k] for k in ("mapMs", "scopeMs", "readMs", "preMs") if k in s1}
    ops = count_ops(fn)
    host = (t1 - t0) * 1000.0
    return ops, draws, host * 1000.0 / max(ops, 1), host, (t2 - t0) * 1000.0, made, js, waits


def count_ops(fn):
    """The primitive ops that one call of ``fn`` dispatches on the default device."""
    be = webdl.zeros(1).device.backend
    ops = [0]
    run = be.run

    def counting(*args, **kw):
        ops[0] += 1
        return run(*args, **kw)
    be.run = counting
    try:
        fn()
    finally:
        del be.run
    return ops[0]


_ready = {}


def setup(key, name, backend=None, **kw):
    """Case ``name`` ready to run as ``key``; ``backend``: attributes of the default device's
    backend set while it runs (a kernel variant, e.g. {"conv_tiled": False} on WebGPU)."""
    fn = _CASES[name](**kw)
    _ready[key] = fn if not backend else _Variant(fn, backend)
    return key


class _Variant:
    """A case run with some backend attributes set (and restored after); a _Work case's
    ``work`` too, so that ``profile`` sees the variant. ``attrs["kernels"]``: {family:
    variant} forced in the backend's kernel choice (backends/tuning.py) while it runs."""

    def __init__(self, fn, attrs):
        self.fn, self.be = fn, webdl.zeros(1).device.backend
        self.attrs = {k: v for k, v in attrs.items() if k != "kernels"}
        self.forced = attrs.get("kernels") or {}
        if isinstance(fn, _Work):
            self.work, self.sync = lambda: self._with(fn.work), fn.sync

    def __call__(self):
        return self._with(self.fn)

    def _with(self, call):
        saved = {k: getattr(self.be, k) for k in self.attrs}
        choice = self.be.kernels if self.forced else None
        was = {f: choice.forced.get(f) for f in self.forced}
        for k, v in self.attrs.items():
            setattr(self.be, k, v)
        for f, v in self.forced.items():
            choice.force(f, v)
        try:
            return call()
        finally:
            for k, v in saved.items():
                setattr(self.be, k, v)
            for f, v in was.items():
                choice.force(f, v)


def run(key):
    fn = _ready[key]
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000.0


def kernel_profile(key, top=12):
    """One more run of case ``key`` with every draw timed on the GPU (WebGL: each waits for
    the previous one; WebGPU: timestamp queries, a compute pass per dispatch): the ``top``
    kernels by time as [kernel, draws, ms], kernels named by their shader and defines (a
    fused elementwise chain's generated code left out)."""
    bridge = webgpu.bridge if str(webdl.get_default_device()) == "webgpu" else webgl.bridge
    bridge.start_profile()
    try:
        _ready[key]()
    finally:
        prof = bridge.stop_profile()
    rows = {}
    for k, (n, ms, *_) in prof.items():
        name = "|".join(k.split("|")[:2])
        r = rows.setdefault(name, [name, 0, 0.0])
        r[1] += n
        r[2] += ms
    return sorted(rows.values(), key=lambda r: -r[2])[:top]


def drop(key):
    _ready.pop(key, None)


# --- group "models": one training step of a published program, WebGL against numpy --------
# The programs are tests/programs/ of a webdl checkout (each file a published program kept
# verbatim, with its source and license in its header; tests/programs/__init__.py builds and
# drives them). They are not in the wheel: set-up copies them into the app's
# vendor/programs/, and the page fetches them from there into ``PROGRAMS_IN_PAGE``.
PROGRAMS_IN_PAGE = "/tmp/webdl-bench"


def _fetch(folder, names, dest):
    """Files ``names`` of the app's vendor/<folder>/ into folder ``dest`` of the page's file
    system, once; ``names`` may be a callable giving them after index.json has come."""
    import webdl_fetch
    os.makedirs(dest, exist_ok=True)
    if callable(names):
        webdl_fetch.toFile(f"vendor/{folder}/index.json", dest + "/index.json")
        names = names(dest + "/index.json")
    for name in names:
        if not os.path.exists(f"{dest}/{name}"):
            webdl_fetch.toFile(f"vendor/{folder}/{name}", f"{dest}/{name}")


def _fetch_programs():
    """vendor/programs/ of the app into the page's file system (once)."""
    dest = os.path.join(PROGRAMS_IN_PAGE, "programs")
    if not os.path.exists(os.path.join(dest, "__init__.py")):
        _fetch("programs", lambda index: json.load(open(index)), dest)

def setup_model(key, name, device="webgl", compiled=False):
    """Build program ``name`` of ``programs.RUNS`` on 'cpu' and on the GPU ``device``, the GPU
    side with the numpy side's weights, and ready two cases: ``key + ":cpu"`` and
    ``key + ":" + device``, each one training step of the program's own code (its zero_grad,
    forward, loss, backward and optimizer step) synchronised by its loss. With ``compiled``
    the GPU side's step runs through ``webdl.compile`` (recorded, then replayed)."""
    _fetch_programs()
    if PROGRAMS_IN_PAGE not in sys.path:
        sys.path.insert(0, PROGRAMS_IN_PAGE)
    programs = importlib.import_module("programs")
    runs = {}
    with contextlib.redirect_stdout(io.StringIO()):    # the programs print as they train
        for d in ("cpu", device):
            runs[d] = programs.RUNS[name](webdl, d)
    programs.copy_state(runs["cpu"], runs[device])
    for d, r in runs.items():     # the program's step reads its loss back itself
        _ready[f"{key}:{d}"] = _Work(_quiet(r.step), lambda losses: losses)
    if compiled:
        run, args = runs[device], runs[device].train_args()
        if args is None:
            raise ValueError(f"bench: program {name} has no step that webdl.compile can take")
        fn = webdl.compile(run.train)
        # a _Work, so that ``profile`` tells the replay's host time from the wait for the GPU
        _ready[f"{key}:{device}"] = _Work(_quiet(lambda: fn(*args)), lambda loss: loss.item())
    return key


def conformance(rtol=1e-4, atol=1e-4, device=None):
    """The conformance cases of tests/opinfo.py (set-up copies it to vendor/conformance) on
    ``device`` (the default device) against the numpy backend in this page, as
    tests/test_browser.py runs them: how
    many pass, the largest absolute error and the cases that fail -- for a GPU the tests
    don't run on (tools/gpukit)."""
    dest = "/tmp/webdl-conformance"
    _fetch("conformance", ["opinfo.py"], dest)
    if dest not in sys.path:
        sys.path.insert(0, dest)
    opinfo = importlib.import_module("opinfo")
    dev = str(webdl.device(device))
    res = opinfo.run_all(opinfo.CASES + opinfo.SPECIAL, opinfo.Lib(webdl, dev),
                         opinfo.Lib(webdl, "cpu"), rtol, atol)
    ran = {k: v for k, v in res.items() if v[1] < 1e29}
    worst = max(ran.items(), key=lambda kv: kv[1][1]) if ran else ("", [0, 0.0])
    return {"device": dev, "cases": len(res), "pass": sum(1 for v in res.values() if v[0] <= 1),
            "worst_abs": worst[1][1], "worst_case": worst[0],
            "failed": {k: v[2][:2] for k, v in res.items() if v[0] > 1}}


def _quiet(fn):
    def run():
        with contextlib.redirect_stdout(io.StringIO()):
            return fn()
    return run


def setup_on(key, name, device, **kw):
    """Case ``name`` prepared with ``device`` as the default device (group "webgpu": the
    same case on WebGPU and on WebGL in one page)."""
    before = webdl.get_default_device()
    webdl.set_default_device(device)
    try:
        return setup(key, name, **kw)
    finally:
        webdl.set_default_device(before)


def _count(stats):
    """GPU kernel launches in ``memory_stats`` (WebGL draws, WebGPU dispatches)."""
    return stats["dispatches"] if "dispatches" in stats else stats.get("drawCalls", 0)


def _launches(device=None):
    """GPU kernel launches so far on ``device``."""
    return _count(webdl.memory_stats(device))


def draws(key, device=None):
    """GPU kernel launches of one more run of case ``key``."""
    before = _launches(device)
    _ready[key]()
    return _launches(device) - before


def draw_cost(n=300):
    """Where the CPU time of one small elementwise draw goes (microseconds per draw): the
    whole realization from Python (code generation, the bridge call, allocation), and the part
    spent inside the JS bridge's draw (WebGL calls), measured by the bridge itself."""
    x = webdl.ones(4)
    be = x.device.backend
    for _ in range(3):                      # warm-up: program compiled, textures pooled
        (x * 2.0 + 1.0).numpy()
    before = webdl.memory_stats(x.device)
    t = time.perf_counter()
    for i in range(n):
        be.realize((x * 2.0 + float(i))._buf)   # a fresh lazy expression: one draw
    total = (time.perf_counter() - t) / n * 1e6
    after = webdl.memory_stats(x.device)
    draws = _count(after) - _count(before)
    # the bridge's own time (WebGL's gl.js measures it; WebGPU's does not: None)
    js = ((after["runMs"] - before["runMs"]) / max(draws, 1) * 1e3 if "runMs" in after
          else None)
    return {"total_us": total, "js_us": js, "draws_per_realize": draws / n}


def kernel_choices():
    """{device: what its kernel choice reports} for the GPU devices started in this run:
    the variants chosen per shape class and the times measured (backends/tuning.py)."""
    return {name: webdl.backends.device(name).backend.kernels.report()
            for name in ("webgl", "webgpu") if name in webdl.backends.started()}


def overhead(n=2000, reps=5):
    """Cost of one small op (microseconds; mostly Python, plus the draws its lazy chains
    amortise): a chain of adds on a tiny tensor with one readback at the end; the median of
    ``reps`` chains after one for warm-up, as the other cases are timed."""
    x = webdl.ones(4)
    times = []
    for _ in range(reps + 1):
        y = x + 1.0
        y.numpy()
        t = time.perf_counter()
        for _ in range(n):
            y = y + x
        y.numpy()
        times.append((time.perf_counter() - t) / n * 1e6)
    return sorted(times[1:])[reps // 2]
