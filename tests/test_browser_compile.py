"""webdl.compile in real headless Chromium: a call recorded on the GPU once and replayed
gives what the Python gives (against the same model run eagerly and on the numpy backend),
notices what changes (weights, shapes, module flags, plain globals) and refuses to replay
what it can't (readbacks, random numbers, in-place writes, autograd), saying why."""
import json

import pytest

MODEL = """
import json, warnings, numpy as np, webdl
import webdl.nn as nn, webdl.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 4 * 4, 10)
        self.scale = 1.0

    def forward(self, x):
        y = F.relu(self.conv1(x))
        y = F.max_pool2d(F.leaky_relu(self.bn(self.conv2(y)), 0.2), 2)
        return self.fc(y.flatten(1)).softmax(-1) * self.scale, y.mean()

def run(dev):
    webdl.manual_seed(0)
    net = Net().to(dev).eval()
    return net
"""


@pytest.mark.parametrize("device", ["webgl", "webgpu"])
def test_replay_matches_python_and_notices_changes(in_pyodide, device):
    r = in_pyodide.check(MODEL + f"""
dev = '{device}'
net = run(dev)
ref = run('cpu')
fast = webdl.compile(net)
rng = np.random.default_rng(1)
errs, same = [], []
be = webdl.device(dev).backend
with webdl.no_grad():
    for i in range(6):
        x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
        got = fast(webdl.tensor(x, device=dev))
        want = net(webdl.tensor(x, device=dev))
        cpu = ref(webdl.tensor(x, device='cpu'))
        same.append(float(max(np.abs(got[0].numpy() - want[0].numpy()).max(),
                              abs(got[1].item() - want[1].item()))))
        errs.append(float(np.abs(got[0].numpy() - cpu[0].numpy()).max()))
    stats1 = dict(fast.stats)
    # the weights change in place: the next call records again
    net.conv1.weight.mul_(0.5); ref.conv1.weight.mul_(0.5)
    net.scale = 2.0; ref.scale = 2.0
    for i in range(3):
        x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
        got = fast(webdl.tensor(x, device=dev))[0].numpy()
        errs.append(float(np.abs(got - ref(webdl.tensor(x, device='cpu'))[0].numpy()).max()))
    stats2 = dict(fast.stats)
    # another batch size: its own record
    for i in range(3):
        x = rng.standard_normal((5, 3, 8, 8)).astype(np.float32)
        got = fast(webdl.tensor(x, device=dev))[0].numpy()
        errs.append(float(np.abs(got - ref(webdl.tensor(x, device='cpu'))[0].numpy()).max()))
    stats3 = dict(fast.stats)
    # load_state_dict replaces the tensors' contents
    sd = {{k: v * 0.9 for k, v in ref.state_dict().items()}}
    net.load_state_dict(sd); ref.load_state_dict(sd)
    x = rng.standard_normal((5, 3, 8, 8)).astype(np.float32)
    for i in range(2):
        got = fast(webdl.tensor(x, device=dev))[0].numpy()
        errs.append(float(np.abs(got - ref(webdl.tensor(x, device='cpu'))[0].numpy()).max()))
    # train mode: batch norm updates its running statistics, so the call is not replayed
    net.train(); ref.train()
    for i in range(3):
        got = fast(webdl.tensor(x, device=dev))[0].numpy()
        errs.append(float(np.abs(got - ref(webdl.tensor(x, device='cpu'))[0].numpy()).max()))
    rm = float(np.abs(net.bn.running_mean.numpy() - ref.bn.running_mean.numpy()).max())
json.dumps([errs, same, stats1, stats2, stats3, dict(fast.stats), fast.reason, rm,
            list(fast.state_dict())[:2]])
""")
    errs, same, s1, s2, s3, s4, reason, rm, keys = r
    assert max(errs) < 1e-4 and max(same) < 1e-6, (errs, same)
    assert s1 == {"eager": 1, "recorded": 1, "replayed": 4}, s1
    assert s2["recorded"] == 2 and s2["replayed"] == 6, s2         # recorded again, replayed
    assert s3["recorded"] == 3 and s3["replayed"] == 7, s3         # the new shape's own
    assert s4["replayed"] == 7 + 1, s4     # after load_state_dict: recorded, then replayed
    assert "in place" in reason, reason     # batch norm's running statistics in train mode
    assert rm < 1e-5 and keys == ["_orig_mod.conv1.weight", "_orig_mod.conv1.bias"]


@pytest.mark.parametrize("device", ["webgl", "webgpu"])
def test_what_is_not_replayed_runs_as_python_and_says_why(in_pyodide, device):
    r = in_pyodide.check(f"""
import json, warnings, numpy as np, webdl
import webdl.nn as nn
dev = '{device}'
out = {{}}
w = webdl.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), device=dev)

@webdl.compile
def reads_back(x):
    return x * 2 if x.sum().item() > 0 else x * 3

@webdl.compile
def noisy(x):
    return x + webdl.randn(x.shape, device=x.device)

@webdl.compile
def global_tensor(x):
    return x @ w.t()

@webdl.compile
def writes_input(x):
    x.add_(1)
    return x * 1

factor = 2.0
@webdl.compile
def plain_global(x):
    return x * factor

with webdl.no_grad():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vals = []
        for i in range(4):
            x = webdl.full((2, 3), float(i - 2), device=dev)
            vals.append(reads_back(x).numpy().tolist())
            a = noisy(x).numpy()
            vals.append(float(np.abs(a - x.numpy()).max()) > 0)
            vals.append(global_tensor(x).numpy().tolist())
            y = webdl.zeros(2, 3, device=dev)
            vals.append(writes_input(y).numpy().tolist() + y.numpy().tolist())
        for f in (1.0, 3.0, 3.0, 5.0):
            factor = f
            vals.append(plain_global(webdl.ones(2, device=dev)).numpy().tolist())
    out['reasons'] = [f.reason for f in (reads_back, noisy, global_tensor, writes_input)]
    out['warned'] = sorted(str(c.message).split(':')[1].strip() for c in caught)
out['vals'] = vals
out['plain'] = dict(plain_global.stats)
# autograd: a compiled module trains as itself
net = webdl.compile(nn.Linear(3, 2).to(dev))
x = webdl.ones(4, 3, device=dev)
for i in range(3):
    net(x).sum().backward()
out['grad'] = net._orig_mod.weight.grad.numpy().tolist()
out['train'] = [dict(net.stats), net.reason]
json.dumps(out)
""")
    reasons = r["reasons"]
    assert "host" in reasons[0] and "host" in reasons[1], reasons       # .item(), randn
    assert "neither an argument nor a parameter" in reasons[2], reasons
    assert "in place" in reasons[3], reasons
    assert len(r["warned"]) == 4, r["warned"]
    vals = r["vals"]
    for i in range(4):
        v = float(i - 2)
        assert vals[4 * i] == [[v * (2 if v * 6 > 0 else 3)] * 3] * 2
        assert vals[4 * i + 1] is True
        assert vals[4 * i + 2] == [[v * 3, v * 12]] * 2
        assert vals[4 * i + 3] == [[1.0] * 3] * 2 + [[1.0] * 3] * 2
    assert vals[16:] == [[1.0, 1.0], [3.0, 3.0], [3.0, 3.0], [5.0, 5.0]], vals[16:]
    assert r["plain"]["replayed"] >= 1, r["plain"]
    assert r["grad"] == [[12.0] * 3] * 2
    assert r["train"][0]["replayed"] == 0 and "autograd" in r["train"][1], r["train"]


@pytest.mark.parametrize("device", ["webgl", "webgpu"])
def test_superres_replays_its_tiles_with_the_same_pixels(in_pyodide, device):
    """The super-resolution app records its model for a tile size and replays it for the
    next tiles: on WebGPU the upscaled fixture equals the plain Python run's byte for byte,
    and most tiles are replays."""
    r = in_pyodide.check(f"""
import webdl_fetch, numpy as np, json, time
from PIL import Image
import webdl.apps.superres as sr
webdl_fetch.toFile('vendor/models/esrgan-slim/assets/fixture.png', '/tmp/fixture.png')
img = np.asarray(Image.open('/tmp/fixture.png').convert('RGB'))[:64, :64]
up = sr.load('esrgan-slim', 2, device='{device}')
t0 = time.perf_counter()
fast = up(img, tile=16)
t1 = time.perf_counter()
stats = dict(up._run_model.stats)
up._run_model = up._run_model.__wrapped__       # the same tiles through plain Python
t2 = time.perf_counter()
slow = up(img, tile=16)
t3 = time.perf_counter()
json.dumps([int(np.abs(fast.astype(int) - slow.astype(int)).max()), list(fast.shape), stats,
            t1 - t0, t3 - t2])
""")
    diff, shape, stats, fast_s, slow_s = r
    assert shape == [128, 128, 3] and diff == 0, r
    assert stats["replayed"] >= 8 and stats["recorded"] >= 1, stats


@pytest.mark.parametrize("device", ["webgl", "webgpu"])
def test_indices_made_on_the_gpu_are_checked_at_the_next_readback(in_pyodide, device):
    """An embedding of indices computed on the GPU: no readback per lookup (so the call
    replays), and an out-of-range index raises IndexError, naming the op, at the next
    readback -- eager or replayed -- after which the device reads normally again."""
    r = in_pyodide.check(f"""
import json, numpy as np, webdl
import webdl.nn as nn
dev = '{device}'
webdl.manual_seed(0)
emb = nn.Embedding(10, 4).to(dev)
w = emb.weight.detach().numpy()
fast = webdl.compile(emb)
base = webdl.tensor([1, 2, 3], device=dev)
got, want, errs = [], [], []
with webdl.no_grad():
    for k in (1, 2, 3, 3, 1, 2):
        got.append(fast(base * k).sum().item())
        want.append(float(w[[k, 2 * k, 3 * k]].sum()))
    for f in (fast, emb):
        y = f(base * 4)              # 12 is past the 10 rows: no error yet
        try:
            y.sum().item()
            errs.append(None)
        except IndexError as e:
            errs.append(str(e))
        got.append(fast(base).sum().item())
        want.append(float(w[[1, 2, 3]].sum()))
json.dumps([got, want, errs, dict(fast.stats)])
""")
    got, want, errs, stats = r
    assert max(abs(a - b) for a, b in zip(got, want)) < 1e-5, (got, want)
    assert all(e and "index 12 is out of bounds for size 10" in e for e in errs), errs
    assert stats["replayed"] >= 3, stats


@pytest.mark.parametrize("device", ["webgl", "webgpu"])
def test_gpt_generation_replays_with_positions_from_arange(in_pyodide, device):
    """A GPT's forward makes its positions with arange and looks up tokens computed on the
    GPU: once the context is full, the compiled model replays (the positions kept by the
    record), and greedy generation gives the same tokens as the plain model. Every context
    length is a signature of its own, kept: from the third generation on, every call of the
    model replays (the lengths below the full context included)."""
    r = in_pyodide.check(f"""
import json, webdl
import webdl.apps.bench as B
webdl.set_default_device('{device}')
try:
    cases = [B._CASES['generate'](tokens=40, context=16, layers=2, compiled=c) for c in (0, 1)]
    toks = [c() for c in cases]
    fast = cases[1].work.model
    first = dict(fast.stats)
    again = [cases[1]().tolist() for _ in range(2)]
finally:
    webdl.set_default_device('webgl')
json.dumps([t.tolist() for t in toks] + [first, dict(fast.stats), fast.reason, again])
""")
    plain, compiled, first, stats, reason, again = r
    assert plain == compiled == again[0] == again[1], (plain, compiled, again)
    assert first["replayed"] >= 20, (first, reason)
    # the second generation records the 15 shorter lengths, the third replays all 40 calls
    assert stats["eager"] == first["eager"] and stats["recorded"] == first["recorded"] + 15, \
        (first, stats)
    assert stats["replayed"] == first["replayed"] + 25 + 40, (first, stats)


def test_arguments_sharing_a_buffer_are_not_confused(in_pyodide):
    """A record of f(x, x) (one input buffer) is not replayed for f(x, y)."""
    r = in_pyodide.check("""
import json, webdl
f = webdl.compile(lambda a, b: a * 2 + b)
x = webdl.ones(3, device='webgpu')
y = webdl.full((3,), 5.0, device='webgpu')
with webdl.no_grad():
    out = [f(x, x).tolist() for _ in range(3)] + [f(x, y).tolist() for _ in range(3)] + \\
        [f(y, y).tolist()]
json.dumps([out, dict(f.stats)])
""")
    out, stats = r
    assert out == [[3.0] * 3] * 3 + [[7.0] * 3] * 3 + [[15.0] * 3], out
    assert stats["replayed"] >= 2, stats


@pytest.mark.parametrize("device", ["webgl", "webgpu"])
def test_compiled_lstm_records_its_steps_in_its_own_record(in_pyodide, device):
    """An LSTM replays its time steps by itself (webdl.replay); inside a call that
    webdl.compile records, they are part of that record instead (no record within a
    record): the compiled model replays and matches the numpy backend."""
    r = in_pyodide.check(f"""
import json, numpy as np, webdl
import webdl.nn as nn
dev = '{device}'
x = np.random.default_rng(0).standard_normal((9, 2, 5)).astype(np.float32)
def make(d):
    webdl.manual_seed(0)
    return nn.LSTM(5, 7, num_layers=2).to(d).eval()
ref = make('cpu')(webdl.tensor(x, device='cpu'))[0].detach().numpy()
lstm = make(dev)
fast = webdl.compile(lstm)
errs = []
with webdl.no_grad():
    for _ in range(4):
        y, (h, c) = fast(webdl.tensor(x, device=dev))
        errs.append(float(np.abs(y.cpu().numpy() - ref).max()))
json.dumps([errs, fast.stats, fast.reason])
""")
    errs, stats, reason = r
    assert max(errs) < 1e-4 and stats["replayed"] == 2 and stats["recorded"] == 1, r
    assert reason is None, r


def test_replays_fetch_the_packed_weight_of_their_own_input(in_pyodide):
    """WebGL packs a matmul's second operand once while it lives when it is read again (a
    recurrent layer's weight, step after step): a record reads that packed copy as an extra
    input, fetched for the weight each replay is given. Alternating weights, a weight
    changed in place, and a compiled call with its weight as a parameter all match numpy;
    a replay with a weight already packed makes one draw fewer, until empty_cache drops the
    packed copies."""
    r = in_pyodide.check("""
import json, numpy as np, webdl
from webdl.replay import Replayed
rng = np.random.default_rng(7)
x = rng.standard_normal((32, 256)).astype(np.float32)
ws = [rng.standard_normal((256, 1024)).astype(np.float32) for _ in range(2)]
X = webdl.tensor(x, device='webgl')
W = [webdl.tensor(w, device='webgl') for w in ws]
step = Replayed(lambda a, b: (a.matmul(b) * 0.5).relu())
ok, draws = [], []
for i in range(8):
    d0 = webdl.memory_stats()['drawCalls']
    got = step(X, W[i % 2 if i < 6 else 0]).numpy()
    draws.append(webdl.memory_stats()['drawCalls'] - d0)
    ok.append(bool(np.allclose(got, np.maximum(x @ ws[i % 2 if i < 6 else 0] * 0.5, 0),
                               rtol=1e-4, atol=1e-4)))
webdl.empty_cache()     # drops the kept packed copies: W[0] is packed again
d0 = webdl.memory_stats()['drawCalls']
ok.append(bool(np.allclose(step(X, W[0]).numpy(), np.maximum(x @ ws[0] * 0.5, 0),
                           rtol=1e-4, atol=1e-4)))
draws.append(webdl.memory_stats()['drawCalls'] - d0)
with webdl.no_grad():
    W[0].mul_(2.0)      # a new texture behind W[0]: packed anew
ok.append(bool(np.allclose(step(X, W[0]).numpy(), np.maximum(x @ ws[0], 0),
                           rtol=1e-4, atol=1e-4)))
lin = webdl.nn.Linear(256, 1024, bias=False).to('webgl')
fast = webdl.compile(lin)
for i in range(4):
    with webdl.no_grad():
        y = fast(X)
    ok.append(bool(np.allclose(y.numpy(), x @ lin.weight.detach().cpu().numpy().T,
                               rtol=1e-4, atol=1e-4)))
json.dumps([ok, draws])
""")
    ok, draws = r
    assert all(ok), r
    # calls 7 and 8 replay on W[0], packed by then: one draw fewer than call 3's, whose
    # weight had been read once before
    assert draws[6] == draws[7] == draws[2] - 1, r
    # after empty_cache: the weight packed again, and the input too (a matmul's left
    # operand is kept packed from its first read)
    assert draws[8] == draws[2] + 1, r


STEP = """
import json, warnings, numpy as np, webdl
import webdl.nn as nn, webdl.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(11, 8)
        self.fc1 = nn.Linear(8, 16)
        self.ln = nn.LayerNorm(16)
        self.fc2 = nn.Linear(16, 11)

    def forward(self, idx):
        return self.fc2(self.ln(F.gelu(self.fc1(self.emb(idx)))))

def make(device, kind):
    webdl.manual_seed(0)
    net = Net().to(device)
    if kind == 'adamw':
        opt = webdl.optim.AdamW(net.parameters(), lr=1e-2, betas=(0.9, 0.95), weight_decay=0.1)
    elif kind == 'adam_amsgrad':
        opt = webdl.optim.Adam(net.parameters(), lr=1e-2, amsgrad=True, weight_decay=1e-3)
    elif kind == 'sgd':
        opt = webdl.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    elif kind == 'adadelta':
        opt = webdl.optim.Adadelta(net.parameters(), lr=1.0)
    elif kind == 'rmsprop':
        opt = webdl.optim.RMSprop(net.parameters(), lr=1e-2, momentum=0.9, centered=True)
    elif kind == 'adagrad':
        opt = webdl.optim.Adagrad(net.parameters(), lr=5e-2, lr_decay=0.1)
    elif kind == 'adamax':
        opt = webdl.optim.Adamax(net.parameters(), lr=1e-2)
    elif kind == 'nadam':
        opt = webdl.optim.NAdam(net.parameters(), lr=1e-2, weight_decay=0.01,
                                decoupled_weight_decay=True)
    else:
        opt = webdl.optim.RAdam(net.parameters(), lr=1e-2)
    # the learning rate changes every step: read anew by each replay
    sched = webdl.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))
    return net, opt, sched

def train(device, kind, compiled, steps=9):
    net, opt, sched = make(device, kind)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x).reshape(-1, 11), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss
    fn = webdl.compile(step) if compiled else step
    rng = np.random.default_rng(3)
    losses, mem = [], []
    for i in range(steps):
        if i == 5:      # a hyperparameter a replay keeps: recorded again
            opt.param_groups[0]['weight_decay'] = 0.05
        x, y = rng.integers(0, 11, (4, 6)), rng.integers(0, 11, (4, 6))
        loss = fn(webdl.tensor(x, device=device), webdl.tensor(y, device=device))
        sched.step()
        losses.append(loss.item())
        mem.append(webdl.memory_stats(device)['allocated_bytes.all.current']
                   if device != 'cpu' else 0)
    params = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    state = opt.state_dict()['state']
    counts = sorted({float(v['step']) for v in state.values() if 'step' in v})
    return losses, params, counts, mem, (dict(fn.stats), fn.reason) if compiled else None
"""


@pytest.mark.parametrize("device", ["webgl", "webgpu"])
def test_training_step_replays_with_its_optimizer_state(in_pyodide, device):
    """A compiled training step (forward, backward, optimizer step): recorded on its second
    call and replayed, it trains as the Python does on the same device (the same losses and
    weights, to the bit: the same kernels run) and as the numpy backend does (1e-5), with the
    learning rate a scheduler changes every step, the step counts the optimizer keeps, a
    hyperparameter changed midway (recorded again) and memory that does not grow. The
    optimizers without a fused step (Adadelta, RMSprop, Adagrad, Adamax, NAdam) make their
    learning rate and step-count scalars a host input of the record; one whose step branches
    on its count on the host (RAdam) runs as Python and says why."""
    r = in_pyodide.check(STEP + f"""
out = {{}}
for kind in ('adamw', 'adam_amsgrad', 'sgd', 'adadelta', 'rmsprop', 'adagrad', 'adamax',
             'nadam', 'radam'):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = train({device!r}, kind, True)
    e = train({device!r}, kind, False)
    n = train('cpu', kind, False)
    out[kind] = dict(
        same=max(abs(a - b) for a, b in zip(c[0], e[0])) +
        max(float(np.abs(c[1][k] - e[1][k]).max()) for k in c[1]),
        cpu=max(max(abs(a - b) for a, b in zip(c[0], n[0])),
                max(float(np.abs(c[1][k] - n[1][k]).max()) for k in c[1])),
        counts=[c[2], e[2]], mem=c[3], stats=c[4][0], reason=c[4][1], losses=c[0])
json.dumps(out)
""")
    for kind, o in r.items():
        assert o["same"] == 0.0 and o["cpu"] <= 1e-5, (kind, o)
        if kind == "radam":
            assert o["stats"] == {"eager": 9, "recorded": 0, "replayed": 0}, o["stats"]
            assert "counts its steps on the host" in o["reason"], o["reason"]
            continue
        # eager, record, 3 replays, record again (weight decay changed), 3 replays
        assert o["stats"] == {"eager": 1, "recorded": 2, "replayed": 6}, (kind, o["stats"])
        assert o["counts"][0] == o["counts"][1] == ([9.0] if kind != "sgd" else []), o["counts"]
        assert o["mem"][2] == o["mem"][4] and o["mem"][6] == o["mem"][8], (kind, o["mem"])


def test_training_step_notices_state_wherever_the_model_is_kept(in_pyodide):
    """The modules a step runs are part of its signature however deep the step keeps them
    (here in a dict in a list in an object): model.eval() after some replays records again;
    a trainer's counter that the step advances keeps counting (each call records: the
    Python runs); a scheduler stepped inside the step is refused (a replay would not change
    the learning rate). Each gives what the plain Python gives on a twin model."""
    r = in_pyodide.check("""
import json, warnings, numpy as np, webdl
import webdl.nn as nn, webdl.nn.functional as F

class Box:
    def __init__(self, m):
        self.m = m

def build():
    webdl.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)).to('webgl')
    return net, webdl.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

out = {}
x = webdl.tensor(np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32), device='webgl')
y = webdl.tensor(np.array([0, 1, 2, 0, 1, 2]), device='webgl')
hidden = {'a': [Box(build())]}

def step(x, y):
    net, opt = hidden['a'][0].m
    opt.zero_grad()
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    return loss

twin, topt = build()
def plain(x, y):
    topt.zero_grad()
    loss = F.cross_entropy(twin(x), y)
    loss.backward()
    topt.step()
    return loss

fast = webdl.compile(step)
got, want = [], []
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for i in range(8):
        if i == 5:
            hidden['a'][0].m[0].eval(); twin.eval()
        got.append(fast(x, y).item()); want.append(plain(x, y).item())
out['bn'] = [got, want, dict(fast.stats)]

class Trainer:
    def __init__(self):
        self.net, self.opt = build()
        self.count = 0

    def step(self, x, y):
        self.count += 1
        self.opt.zero_grad()
        loss = F.cross_entropy(self.net(x), y)
        loss.backward()
        self.opt.step()
        return loss

t = Trainer()
fs = webdl.compile(t.step)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    vals = [fs(x, y).item() for _ in range(5)]
out['count'] = [t.count, dict(fs.stats)]

# a scheduler stepped inside the step changes the learning rate: a replay would not
runs = []
for compiled in (True, False):
    net3, opt3 = build()
    sched3 = webdl.optim.lr_scheduler.StepLR(opt3, 1, gamma=0.5)

    def step3(x, y):
        opt3.zero_grad()
        loss = F.cross_entropy(net3(x), y)
        loss.backward()
        opt3.step()
        sched3.step()
        return loss
    f3 = webdl.compile(step3) if compiled else step3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs.append([f3(x, y).item() for _ in range(5)] + [opt3.param_groups[0]['lr']])
    if compiled:
        out['sched_stats'] = [dict(f3.stats), f3.reason]
out['sched'] = runs
json.dumps(out)
""")
    got, want, stats = r["bn"]
    assert got == want, (got, want)
    # eager, record, 3 replays; eval(): record again, 2 replays
    assert stats == {"eager": 1, "recorded": 2, "replayed": 5}, stats
    count, stats = r["count"]
    assert count == 5 and stats["replayed"] == 0, (count, stats)
    compiled, plain = r["sched"]
    assert compiled == plain and plain[-1] == 0.1 * 0.5 ** 5, (compiled, plain)
    stats, reason = r["sched_stats"]
    assert stats["replayed"] == 0 and "'lr'" in reason, (stats, reason)


@pytest.mark.parametrize("device", ["webgl", "webgpu"])
def test_indices_made_on_the_gpu_are_checked_on_both_sides(in_pyodide, device):
    """A waiting check holds the index's smallest and largest value (one reduction of the
    index and its negation): too low and too high are both found at the next readback,
    named with the bad value. index_select takes 0..size-1 (PyTorch: a negative index is
    out of range); ``x[i]`` counts negative ones in range from the end."""
    r = in_pyodide.check(f"""
import json, webdl
out = []
x = webdl.arange(10.0, device={device!r})
for idx, fn in (([1, 2, -13], lambda i: x[i]), ([3, 12, 0], lambda i: x[i]),
                ([-10, 9, 0], lambda i: x[i]), ([-10, 9, 0], lambda i: webdl.index_select(x, 0, i)),
                ([3, 12, 0], lambda i: webdl.index_select(x, 0, i))):
    i = webdl.tensor(idx, device={device!r}) * 1      # made on the GPU: checked later
    try:
        out.append(fn(i).numpy().tolist())
    except IndexError as e:
        out.append(str(e))
json.dumps(out)
""")
    assert "index -13 is out of bounds for size 10" in r[0], r
    assert "index 12 is out of bounds for size 10" in r[1], r
    assert r[2] == [0.0, 9.0, 0.0], r
    assert "index_select: index -10 is out of bounds for size 10" in r[3], r
    assert "index_select: index 12 is out of bounds for size 10" in r[4], r


@pytest.mark.parametrize("device", ["webgl", "webgpu"])
def test_waiting_index_checks_see_the_indices_as_they_were_used(in_pyodide, device):
    """GPU-made indices wait unreduced until the next readback, those of one check reduced
    together: many lookups of one table cost one reduction, a bad index among them is still
    found (named with its op, value and size, whichever lookup had it), one written in place
    after its lookup is checked as it was used (buffers are never written again), and
    checks of different tables and ops each keep their own size."""
    r = in_pyodide.check(f"""
import json, webdl
dev = {device!r}
emb = webdl.nn.Embedding(10, 3).to(dev)
x = webdl.arange(5.0, device=dev)
out = []
with webdl.no_grad():
    def lookups(bad_at):      # nine lookups of one table, waiting together
        idx = [webdl.tensor([1, 2, 3], device=dev) * 1 for _ in range(9)]
        if bad_at is not None:
            idx[bad_at] = webdl.tensor([0, 12, 1], device=dev) * 1
        return sum(emb(i).sum() for i in idx)
    for bad_at in (None, 0, 4, 8):
        try:
            out.append(round(lookups(bad_at).item(), 4))
        except IndexError as e:
            out.append(str(e))
    # a bad index written over after its lookup (nine others waiting): the lookup read it
    lookups(None)
    i = webdl.tensor([2, 11, 1], device=dev) * 1
    y = emb(i).sum()
    i[1] = 3
    try:
        out.append(round(y.item(), 4))
    except IndexError as e:
        out.append(str(e))
    # a good index written over with a bad value after its lookup: nothing to find
    i = webdl.tensor([2, 3, 1], device=dev) * 1
    y = emb(i).sum()
    i[1] = 40
    out.append(round(y.item(), 4) == round(emb.weight[[2, 3, 1]].sum().item(), 4))
    # two tables and two ops waiting at once: each check its own size
    small = webdl.tensor([0, 4, 1], device=dev) * 1      # fine for x (5) and emb (10)
    big = webdl.tensor([0, 7, 1], device=dev) * 1        # fine for emb, bad for x
    try:
        out.append(round((emb(small).sum() + emb(big).sum() + x[small].sum()).item(), 4))
        out.append(x[big].sum().item())
    except IndexError as e:
        out.append(str(e))
json.dumps(out)
""")
    assert isinstance(r[0], float), r
    for k in (1, 2, 3):
        assert "index_select: index 12 is out of bounds for size 10" in r[k], r
    assert "index_select: index 11 is out of bounds for size 10" in r[4], r
    assert r[5] is True, r
    assert isinstance(r[6], float), r
    assert "index 7 is out of bounds for size 5" in r[7] and "size 10" not in r[7], r


def test_training_step_with_clipping_replays_and_with_dropout_refuses(in_pyodide):
    """Gradient clipping inside a compiled step is GPU work of the step: it replays and the
    losses equal the plain Python's. Dropout draws its mask on the host: the step runs as
    Python and says why (a replay would reuse one mask)."""
    r = in_pyodide.check("""
import json, warnings, numpy as np, webdl
import webdl.nn as nn, webdl.nn.functional as F

def build(p):
    webdl.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(p), nn.Linear(8, 2)).to('webgl')
    return net, webdl.optim.AdamW(net.parameters(), lr=0.05)

rng = np.random.default_rng(0)
xs = [webdl.tensor(rng.standard_normal((6, 4)).astype(np.float32) * 5, device='webgl')
      for _ in range(6)]
y = webdl.tensor([0, 1, 0, 1, 0, 1], device='webgl')
out = {}
for p in (0.0, 0.5):
    res = []
    for compiled in (True, False):
        net, opt = build(p)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 0.1)
            opt.step()
            return loss
        f = webdl.compile(step) if compiled else step
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res.append([f(x, y).item() for x in xs])
        if compiled:
            out[p] = [dict(f.stats), f.reason]
    out[p].append(res[0] == res[1])
json.dumps(out)
""")
    stats, reason, same = r["0.0"]
    assert same and stats == {"eager": 1, "recorded": 1, "replayed": 4}, (stats, reason)
    stats, reason, _ = r["0.5"]
    assert stats["replayed"] == 0 and "random numbers" in reason, (stats, reason)
