"""The optimizers on WebGL in headless Chromium: 10 training steps from the same weights
on 'cpu' (numpy) and 'webgl' give the same losses, each optimizer step is at most one draw
per parameter (state and parameter computed together; parameters of one shape share
draws), and a scheduler and gradient clipping
run on the GPU too."""
import pytest

# (optimizer, arguments, draws per parameter and step). One draw computes the new state
# and the new parameter together; the WebGL backend splits an expression that grows past
# its size limit (LazyBuf.MAX_SIZE, which counts a subexpression once per use), which
# L2 weight decay -- the decayed gradient appears in every term -- does for NAdam,
# Adadelta and centered RMSprop: two draws there.
CONFIGS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3), 1),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2, maximize=False), 1),
    ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=1e-3), 1),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1), 1),
    ("Adamax", dict(lr=1e-2, weight_decay=1e-3), 1),
    ("NAdam", dict(lr=1e-2), 1),
    ("NAdam", dict(lr=1e-2, decoupled_weight_decay=True, weight_decay=0.01), 1),
    ("NAdam", dict(lr=1e-2, weight_decay=0.01), 2),
    ("RAdam", dict(lr=1e-2, betas=(0.9, 0.9), weight_decay=1e-3), 1),
    ("Adagrad", dict(lr=5e-2, lr_decay=0.01, initial_accumulator_value=0.1,
                     weight_decay=1e-3), 1),
    ("Adadelta", dict(lr=1.0), 1),
    ("Adadelta", dict(lr=1.0, weight_decay=1e-3), 2),
    ("RMSprop", dict(lr=1e-2, weight_decay=1e-3), 1),
    ("RMSprop", dict(lr=1e-3, momentum=0.9, centered=True), 1),
    ("RMSprop", dict(lr=1e-3, momentum=0.9, centered=True, weight_decay=1e-3), 2),
]

CODE = """
import json, webdl, models
F = webdl.nn.functional
x, y = models.blobs(n=64)


def run(dev, name, kw, extra):
    webdl.manual_seed(0)
    net = models.mlp(webdl).to(dev)
    xt, yt = webdl.tensor(x, device=dev), webdl.tensor(y, device=dev)
    opt = getattr(webdl.optim, name)(net.parameters(), **kw)
    sched = (webdl.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
             if extra == 'onecycle' else None)
    losses, draws = [], []
    for step in range(10):
        opt.zero_grad()
        loss = F.cross_entropy(net(xt), yt)
        loss.backward()
        if extra == 'clip':
            webdl.nn.utils.clip_grad_norm_(net.parameters(), 0.5)
        for p in net.parameters():
            p.grad._realize()
        before = webdl.memory_stats().get('drawCalls', 0)
        opt.step()
        # the step's writes, held to be computed together, computed now
        getattr(xt.device.backend, 'settle_all', lambda: None)()
        draws.append(webdl.memory_stats().get('drawCalls', 0) - before)
        if sched is not None:
            sched.step()
        losses.append(loss.item())
    return losses, draws, len(list(net.parameters()))


out = []
for name, kw, extra in CASES:
    cpu, _, _ = run('cpu', name, kw, extra)
    gl, draws, nparams = run('webgl', name, kw, extra)
    out.append([name, cpu, gl, draws, nparams])
json.dumps(out)
"""


@pytest.fixture(scope="module")
def results(in_pyodide):
    cases = [(n, kw, None) for n, kw, _ in CONFIGS] + [("SGD", dict(lr=0.1, momentum=0.9),
                                                     "onecycle"),
                                                    ("Adam", dict(lr=1e-2), "clip")]
    return in_pyodide.check(f"CASES = {cases!r}\n" + CODE)


@pytest.mark.parametrize("i", range(len(CONFIGS) + 2))
def test_webgl_training_matches_numpy(results, i):
    name, cpu, gl, draws, nparams = results[i]
    diff = max(abs(a - b) for a, b in zip(cpu, gl))
    assert diff < 1e-3, (name, diff, cpu, gl)
    assert gl[-1] < gl[0], (name, gl)                    # it trains
    if i < len(CONFIGS):   # at most the draws per parameter: fewer where shapes repeat
        assert draws == [draws[0]] * 10 and 0 < draws[0] <= nparams * CONFIGS[i][2], \
            (name, draws)
