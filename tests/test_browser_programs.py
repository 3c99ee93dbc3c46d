"""The published programs of tests/programs/ on WebGL in headless Chromium, against webdl's
numpy backend in the same page: the program files and their loader are copied into
Pyodide's file system, each program is built on 'cpu' and on 'webgl' (WebGL gets the
numpy side's weights), and both train for ten steps.

Agreement (relative to the numpy side's scale, as in tests/test_programs.py): forward
outputs, loss and every gradient after the first step within 1e-4; each step's losses
within 1e-3 (float32 on the GPU, rounding compounding over the steps); BatchNorm's running
statistics within 1e-3.
"""
import os

import pytest

import programs

HERE = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-4
STEPS_TOL = 1e-3
RESULTS = {}


@pytest.fixture(scope="module")
def page(in_pyodide):
    src = os.path.join(HERE, "programs")
    in_pyodide.check("import os; os.makedirs('/tmp/tests/programs', exist_ok=True); None")
    for name in sorted(os.listdir(src)):
        if name.endswith(".py"):
            in_pyodide.put_file(f"/tmp/tests/programs/{name}",
                                open(os.path.join(src, name)).read())
    return in_pyodide


def _webgl_vs_numpy(page, name):
    if name not in RESULTS:
        RESULTS[name] = page.check(f"""
import contextlib, io, json, webdl, webdl_gl, programs
webdl_gl.glError()
draws = webdl.memory_stats('webgl')['drawCalls']
with contextlib.redirect_stdout(io.StringIO()):      # the programs print as they train
    cls = programs.RUNS[{name!r}]
    gl = cls(webdl, 'webgl')
    rep = programs.compare(gl, cls(webdl, 'cpu'))
rep['gl_error'] = webdl_gl.glError()
rep['draws'] = webdl.memory_stats('webgl')['drawCalls'] - draws
rep['devices'] = sorted({{str(p.device) for m in gl.models.values() for p in m.parameters()}})
json.dumps(rep)
""")
    return RESULTS[name]


@pytest.mark.parametrize("name", list(programs.RUNS))
def test_program_on_webgl_matches_numpy(page, name):
    rep = _webgl_vs_numpy(page, name)
    # a draw the GL refused leaves the error flag set
    assert rep["gl_error"] == 0, f"GL error 0x{rep['gl_error']:x}"
    assert rep["devices"] == ["webgl"] and rep["draws"] > 0, (rep["devices"], rep["draws"])
    assert rep["outputs"] <= TOL and rep["loss"] <= TOL, (rep["outputs"], rep["loss"])
    assert rep["grads"] and not rep["no_grad"], rep["no_grad"]
    bad = {k: v for k, v in rep["grads"].items() if not v <= TOL}
    assert not bad, bad
    assert len(rep["losses"]) == 10 and rep["loss_steps"] <= STEPS_TOL, \
        (rep["losses"], rep["ref_losses"])
    assert rep["buffers"] <= STEPS_TOL, rep["buffers"]


def test_report_webgl_programs(page, capsys):
    rows = [(n, _webgl_vs_numpy(page, n)) for n in programs.RUNS]
    with capsys.disabled():
        print("\nprograms, webdl on WebGL against its numpy backend, largest relative "
              "differences:")
        print(f"  {'program':22} {'outputs':>9} {'loss':>9} {'grads':>9} {'10 steps':>9} "
              f"{'buffers':>9} {'params':>9}")
        for n, r in rows:
            print(f"  {n:22} {r['outputs']:9.2e} {r['loss']:9.2e} {max(r['grads'].values()):9.2e}"
                  f" {r['loss_steps']:9.2e} {r['buffers']:9.2e} {r['params']:9.2e}")


COMPILED = [n for n, cls in programs.RUNS.items() if cls.train_args is not programs.Run.train_args]


@pytest.mark.parametrize("device", ["webgl", "webgpu"])
def test_compiled_training_steps_replay_what_python_computes(page, device):
    """The programs whose step is a function of tensors, trained with that step through
    webdl.compile (recorded on the second step, replayed from the third) and as plain Python
    from the same weights on the same device: the same losses at every step and the same
    weights, optimizer state and running statistics after (the same kernels run either way;
    a gradient read through a transpose is copied into its own tensor)."""
    rep = page.check(f"""
import contextlib, io, json, warnings, numpy as np, webdl, programs
out = {{}}
for name in {COMPILED!r}:
    with contextlib.redirect_stdout(io.StringIO()):
        cls = programs.RUNS[name]
        eager, comp = cls(webdl, {device!r}), cls(webdl, {device!r})
    programs.copy_state(eager, comp)
    fn = webdl.compile(comp.train)
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # a refused record warns: an error here
        le = [eager.train(*eager.train_args()).item() for _ in range(6)]
        lc = [fn(*comp.train_args()).item() for _ in range(6)]
    worst = 0.0
    for mname, m in eager.models.items():
        other = dict(comp.models[mname].state_dict())
        for k, v in m.state_dict().items():
            worst = max(worst, float(np.abs(v.numpy() - other[k].numpy()).max()))
    se, sc = eager.opt.state_dict()['state'], comp.opt.state_dict()['state']
    for i, st in se.items():
        for k, v in st.items():
            a = np.asarray(v.numpy() if hasattr(v, 'numpy') else v, np.float64)
            b = np.asarray(sc[i][k].numpy() if hasattr(sc[i][k], 'numpy') else sc[i][k], np.float64)
            worst = max(worst, float(np.abs(a - b).max()))
    out[name] = dict(loss=max(abs(a - b) for a, b in zip(le, lc)), state=worst,
                     losses=lc, stats=dict(fn.stats))
json.dumps(out)
""")
    for name, r in rep.items():
        assert r["stats"] == {"eager": 1, "recorded": 1, "replayed": 4}, (name, r["stats"])
        assert r["loss"] <= 1e-6 and r["state"] <= 1e-6, (name, r)
        assert r["losses"][-1] < r["losses"][0], (name, r["losses"])
