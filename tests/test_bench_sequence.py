"""The sequence-model bench cases (issue #13: an LSTM and a transformer training step, GPT
generation) run on both sides of the bench page at tiny sizes, and the webdl side reports
its per-op overhead. A smoke test: the timings themselves come from `webdl_tools bench`."""
import webdl
from webdl.apps import bench
from webdl.backends.tuning import KernelChoice
from webdl_tools.cli import BENCH_CASES, SEQUENCE_CASES, TARGETS, _print_profiles

TINY = {"lstm": {"batch": 2, "seq": 3, "hidden": 8, "inp": 4},
        "transformer": {"batch": 2, "seq": 4, "d_model": 8, "heads": 2, "layers": 2, "ffn": 16},
        "generate": {"tokens": 5, "vocab": 11, "d": 8, "heads": 2, "layers": 2, "context": 4}}


def test_sequence_cases_registered():
    assert {c["kind"] for c in SEQUENCE_CASES} == set(TINY)
    assert all(c in BENCH_CASES and c["profile"] for c in SEQUENCE_CASES)
    assert TARGETS["lstm 2x256 train step"] == TARGETS["transformer 4x128 train step"] == 1.3


def test_sequence_cases_run_in_the_page(browser, capsys):
    page = browser.new_page("bench.html")
    try:
        cases = [{**c, "args": {**TINY[c["kind"]], **{k: v for k, v in c["args"].items()
                                                        if k == "compiled"}},
                  "reps": 1, "warmup": 2 if c["args"].get("compiled") else 0}
                 for c in SEQUENCE_CASES]
        out = page.evaluate("cfg => bench.run(cfg)", {"cases": cases})
    finally:
        page.close()
    assert [r["id"] for r in out["results"]] == [c["id"] for c in SEQUENCE_CASES]
    for r in out["results"]:
        assert r["webdl"]["median"] > 0 and r["tfjs"]["median"] > 0, r
        ops, draws, us_per_op, host_ms, total_ms = r["profile"][:5]
        # a compiled training step's profiled call replays: no op runs in Python
        assert (ops == 0 if "step, compiled" in r["id"] else ops > 20), (r["id"], r["profile"])
        assert draws > 0 and 0 < host_ms <= total_ms, r
        assert abs(us_per_op - host_ms * 1000 / max(ops, 1)) < 1e-6 * us_per_op + 1e-9, r
    _print_profiles(out["results"])
    assert "host us/op" in capsys.readouterr().out


def test_sum_case_and_webgpu_readback_waits(browser):
    """The bench's "sum" kind (row sums; not in the CLI's list: the GPU kit's extra cases
    run it) on both sides of the page with webdl on WebGPU, and the profile's last entry:
    the readback's time in all, before the map, waiting for it and then for the error scopes
    (gpu.js)."""
    page = browser.new_page("bench.html?device=webgpu")
    try:
        case = {"id": "sum", "kind": "sum", "args": {"rows": 4, "n": 4096}, "reps": 2,
                "warmup": 1, "profile": True}
        out = page.evaluate("cfg => bench.run(cfg)", {"cases": [case]})
    finally:
        page.close()
    (r,) = out["results"]
    assert out["device"] == "webgpu" and r["webdl"]["median"] > 0 and r["tfjs"]["median"] > 0
    waits = r["profile"][7]
    assert set(waits) == {"readMs", "preMs", "mapMs", "scopeMs"} and waits["mapMs"] > 0
    assert waits["scopeMs"] >= 0 and waits["preMs"] >= 0
    assert waits["readMs"] >= waits["preMs"] + waits["mapMs"] + waits["scopeMs"] - 1e-6, waits


def test_reduction_group_and_attention_cases(browser, in_pyodide):
    """Issue #15's bench cases -- softmax, log-softmax, layer norm and cross-entropy of one
    input; attention's forward and backward -- compute what torch computes on the same data
    (webdl's side, in the page), and run on both sides of the bench page."""
    import numpy as np
    import torch
    import torch.nn.functional as TF
    got = in_pyodide.check("""
import json
from webdl.apps import bench as B
B.setup("t_softmax", "softmax", rows=6, cols=5)
B.setup("t_attention", "attention", heads=2, seq=3, dim=4)
json.dumps([B._ready["t_softmax"](), B._ready["t_attention"](), B._ready["t_attention"]()])
""")
    r = np.random.default_rng(0)
    x = torch.tensor(r.standard_normal((6, 5)).astype(np.float32))
    y = torch.tensor(r.integers(0, 5, 6))
    want_softmax = (TF.softmax(x, -1).mean() + TF.log_softmax(x, -1).mean()
                    + TF.layer_norm(x, (5,)).mean() + TF.cross_entropy(x, y)).item()
    r = np.random.default_rng(0)
    q, k, v = (torch.tensor(r.standard_normal((1, 2, 3, 4)).astype(np.float32),
                            requires_grad=True) for _ in range(3))
    (TF.scaled_dot_product_attention(q, k, v) ** 2).sum().backward()
    want_attention = (q.grad.sum() + k.grad.sum() + v.grad.sum()).item()
    assert abs(got[0] - want_softmax) < 1e-4 * max(1.0, abs(want_softmax)), (got, want_softmax)
    # twice: the gradients of the second call do not pile onto the first's
    for g in got[1:]:
        assert abs(g - want_attention) < 1e-4 * max(1.0, abs(want_attention)), (got, want_attention)
    page = browser.new_page("bench.html")
    try:
        cases = [{"id": "s", "kind": "softmax", "args": {"rows": 6, "cols": 5}, "reps": 1},
                 {"id": "a", "kind": "attention", "args": {"heads": 2, "seq": 3, "dim": 4},
                  "reps": 1}]
        out = page.evaluate("cfg => bench.run(cfg)", {"cases": cases})
    finally:
        page.close()
    assert [c["id"] for c in out["results"]] == ["s", "a"]
    assert all(c["webdl"]["median"] > 0 and c["tfjs"]["median"] > 0 for c in out["results"])


def test_a_variant_case_is_profiled_with_its_backend_attributes():
    """A case set up with backend attributes (bench.setup(..., backend={...})) runs with them
    and with the kernel variants it forces -- the run of its profile included -- and restores
    them after (CPython, numpy backend)."""
    be = webdl.zeros(1).device.backend
    seen = []
    x = webdl.ones(3)

    def work():
        seen.append((be.variant_probe, dict(be.kernels.forced)))
        return (x * 2.0).sum()
    be.variant_probe = "default"
    # a kernel choice as the GPU backends have (the numpy backend has none), one family
    # already forced: {"kernels": ...} forces others while the case runs
    be.kernels = KernelChoice({"conv2d": ("a", "b"), "matmul": ("c", "d")}, "stub")
    be.kernels.force("matmul", "c")
    try:
        bench._ready["variant"] = bench._Variant(
            bench._Work(work, lambda t: t.item()),
            {"variant_probe": "forced", "kernels": {"conv2d": "b", "matmul": "d"}})
        prof = bench.profile("variant")
        bench.run("variant")
        assert prof[0] == 2 and seen and \
            set(map(repr, seen)) == {repr(("forced", {"matmul": "d", "conv2d": "b"}))}, (prof, seen)
        assert be.variant_probe == "default" and be.kernels.forced == {"matmul": "c"}
    finally:
        bench.drop("variant")
        del be.variant_probe, be.kernels
