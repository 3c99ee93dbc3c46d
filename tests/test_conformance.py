"""Every op of the conformance suite (tests/opinfo.py), forward and backward, against
PyTorch on the CPU; plus float64 finite-difference gradient checks on the numpy backend.

The same cases run on the WebGL backend inside the browser (tests/test_browser.py)."""
import numpy as np
import pytest
import torch

import webdl
from webdl.backends import register
from webdl.backends.numpy_backend import NumpyBackend

import opinfo


@pytest.fixture(scope="module")
def torch_results():
    """Every case on the numpy backend against PyTorch: {name: [normalised error, largest
    absolute error, messages]}."""
    return opinfo.run_all(opinfo.CASES, opinfo.Lib(webdl, device="cpu"), opinfo.Lib(torch),
                          1e-5, 1e-5)


@pytest.mark.parametrize("case", opinfo.CASES, ids=str)
def test_against_torch(case, torch_results):
    worst, _, msgs = torch_results[case.name]
    assert worst <= 1, f"{case.name}: " + "\n".join(msgs)


def test_report_worst_error(torch_results, capsys):
    """The largest absolute error against PyTorch over all cases, all within tolerance."""
    name, (_, wabs, _) = max(torch_results.items(), key=lambda kv: kv[1][1])
    with capsys.disabled():
        print(f"\nconformance: {len(torch_results)} cases; largest absolute error against "
              f"PyTorch {wabs:.3g} ({name})")
    assert max(v[0] for v in torch_results.values()) <= 1


register("cpu64", NumpyBackend(np.float64))

# the numpy backend with conv2d (as WebGL runs it) and attention (as WebGPU does on
# hardware) as fused ops (their refs): checks the fused ops' own backward rules on the host
_fused = NumpyBackend()
_fused.fused = frozenset({"conv2d", "attention", "attention_grad_q", "attention_grad_kv"})
register("cpu-fused", _fused)


@pytest.mark.parametrize("case", [c for c in opinfo.CASES
                                  if c.name.startswith(("conv2d", "sdpa"))], ids=str)
def test_fused_ops_against_torch(case):
    got = opinfo.run(case, opinfo.Lib(webdl, device="cpu-fused"))
    ref = opinfo.run(case, opinfo.Lib(torch))
    worst, _, msgs = opinfo.compare(case, got, ref)
    assert worst <= 1, f"{case.name}: " + "; ".join(msgs)


def _numeric_grad(case, arrays, k, idx, eps=1e-6):
    lib = opinfo.Lib(webdl, device="cpu64")
    vals = []
    for sgn in (1, -1):
        arrs = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]
        arrs[k] = arrs[k].copy()
        arrs[k][idx] += sgn * eps
        with webdl.no_grad():
            outs, _ = opinfo.run(opinfo.Case(case.name, case.fn, case.inputs, grad=False), lib,
                                 arrays=arrs)
        vals.append(outs)
    rng = np.random.default_rng(1)
    total = 0.0
    for op, om in zip(*vals):
        if op.dtype.kind != "f":
            continue
        w = rng.standard_normal(op.shape).astype(np.float32).astype(np.float64)
        total += float(((op.astype(np.float64) - om.astype(np.float64)) * w).sum())
    return total / (2 * eps)


GRADCHECK = [c for c in opinfo.CASES if c.grad and c.gradcheck and
             any(s.grad for s in c.inputs) and "empty" not in c.name]


@pytest.mark.parametrize("case", GRADCHECK, ids=str)
def test_gradcheck_float64(case):
    """Analytic float64 gradients against central differences, at up to 6 random entries
    of each differentiable input."""
    arrays = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in case.arrays()]
    _, grads = opinfo.run(case, opinfo.Lib(webdl, device="cpu64"), arrays=arrays)
    rng = np.random.default_rng(0)
    for k, (spec, g) in enumerate(zip(case.inputs, grads)):
        if g is None or arrays[k].size == 0:
            continue
        for flat in rng.choice(arrays[k].size, size=min(6, arrays[k].size), replace=False):
            idx = np.unravel_index(flat, arrays[k].shape)
            num = _numeric_grad(case, arrays, k, idx)
            assert abs(g[idx] - num) <= 1e-5 + 1e-4 * abs(num), \
                f"{case.name}: input {k} at {idx}: analytic {g[idx]} vs numeric {num}"


@pytest.mark.parametrize("case", opinfo.SPECIAL, ids=str)
def test_nan_inf_propagate_like_torch(case):
    got = opinfo.run(case, opinfo.Lib(webdl, device="cpu"))
    ref = opinfo.run(case, opinfo.Lib(torch))
    worst, _, msgs = opinfo.compare(case, got, ref)
    assert worst <= 1, f"{case.name}: " + "; ".join(msgs)


@pytest.mark.parametrize("ta,tb,flat", [(ta, tb, f) for ta in (0, 1) for tb in (0, 1)
                                         for f in (0, 1)])
def test_matmul_primitive_read_transposed_or_flat(ta, tb, flat):
    """The matmul primitive's forms that only gradients and attention use (not reachable
    as such from the public API): operands given transposed (ta, tb) and with their
    leading dims as rows (flat), forward and backward, against the products written out in
    numpy. A' (the first operand as read) is (n, k), B' (k, m); batched over 2 unless
    flat."""
    from webdl.ops import Matmul
    rng = np.random.default_rng(ta * 4 + tb * 2 + flat)
    n, k, m = 6, 4, 10
    batch = () if flat else (2,)
    A, B = rng.standard_normal(batch + (n, k)), rng.standard_normal(batch + (k, m))
    G = rng.standard_normal(batch + (n, m))

    def given(x, t):            # what is passed: the matrix as read, transposed back where
        x = np.swapaxes(x, -1, -2) if t else x      # t, split into two row blocks if flat
        return x.reshape(2, -1, x.shape[-1]) if flat else x
    a = webdl.tensor(given(A, ta).astype(np.float32), requires_grad=True)
    b = webdl.tensor(given(B, tb).astype(np.float32), requires_grad=True)
    y = Matmul.apply(a, b, ta=bool(ta), tb=bool(tb), flat=bool(flat))
    (y * webdl.tensor(G.astype(np.float32))).sum().backward()
    ga, gb = G @ np.swapaxes(B, -1, -2), np.swapaxes(A, -1, -2) @ G     # d/dA', d/dB'
    assert np.abs(y.detach().numpy() - A @ B).max() < 1e-4
    assert np.abs(a.grad.numpy() - given(ga, ta)).max() < 1e-4
    assert np.abs(b.grad.numpy() - given(gb, tb)).max() < 1e-4
