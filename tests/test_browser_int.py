"""Exact integers on WebGL (issue #16 item 3), in real headless Chromium: int64 tensors live
in R32I textures, so values past 2**24 (where float32 merges neighbours) survive uploads,
readback, arithmetic, comparisons, gather/index_select/embedding indices, argmax over more
than 2**24 elements, sums and cumsum -- each checked against numpy. int64 beyond int32
raises a clear error on WebGL; on WebGPU (f32 storage) past 2**24."""
import pytest

BIG = 2 ** 24

_ROUND_TRIP = """
import json, numpy as np, webdl
edge = np.array([2**24 + 1, 2**31 - 1, -2**31, 0, -5, 2**24, -(2**24 + 3)], dtype=np.int64)
# more elements than the host copy keeps (HOST_COPY_MAX), so .numpy() reads the texture
big = np.resize(edge, 70001) + np.arange(70001) % 3 * np.where(np.resize(edge, 70001) > 0, -1, 1)
x = webdl.tensor(big, device="webgl")
y = webdl.tensor(edge, device="webgl") * 1            # computed: read back from the GPU
json.dumps([bool((x.numpy() == big).all()), y.numpy().tolist(), edge.tolist(),
            str(x.dtype), x.numpy().dtype.name])
"""


def test_round_trip_past_2_24(browser):
    ok, got, want, dtype, np_dtype = browser.check(_ROUND_TRIP)
    assert ok and got == want
    assert dtype == "webdl.int64" and np_dtype == "int64"


_ARITH = """
import json, numpy as np, webdl
import webdl.nn.functional as F
rng = np.random.default_rng(3)
a = rng.integers(2**24, 2**25, (5, 7))              # sums stay in int32
b = rng.integers(-2**24, 2**24, (5, 7))
s = np.array([4097, -4097, 3, 46340], dtype=np.int64)   # int32 by default in Pyodide
A, B, S = (webdl.tensor(v, device="webgl") for v in (a, b, s))
c = (a % 2 == 0)
C = webdl.tensor(c, device="webgl")
got = {
    "add": ((A + B).numpy(), a + b), "sub": ((A - B).numpy(), a - b),
    "mul": ((B * 3).numpy(), b * 3), "neg": ((-A).numpy(), -a), "abs": (B.abs().numpy(), np.abs(b)),
    "max": (webdl.maximum(A, B).numpy(), np.maximum(a, b)),
    "min": (webdl.minimum(A, B).numpy(), np.minimum(a, b)),
    "pow": ((S ** 2).numpy(), s ** 2), "pow_t": (webdl.pow(S, S * 0 + 2).numpy(), s ** 2),
    "clamp": (A.clamp(BIG + 1, BIG + 2**23 + 7).numpy(), np.clip(a, BIG + 1, BIG + 2**23 + 7)),
    "where": (webdl.where(C, A, B).numpy(), np.where(c, a, b)),
    "floordiv": ((A // B).numpy(), a // b), "floordiv_s": ((A // 7).numpy(), a // 7),
    "trunc": (webdl.div(B, 7, rounding_mode="trunc").numpy(), np.trunc(b / 7).astype(np.int64)),
    "sum": (A.sum().numpy(), a.sum()), "sum_dim": (B.sum(1).numpy(), b.sum(1)),
    "count": (C.sum().numpy(), c.sum()), "amax": (A.amax(0).numpy(), a.max(0)),
    "amin": (B.amin(1).numpy(), b.min(1)),
    "cat": (webdl.cat([A, B], 1).numpy(), np.concatenate([a, b], 1)),
    "pad": (F.pad(A, (1, 2), value=BIG + 1).numpy(), np.pad(a, ((0, 0), (1, 2)),
                                                            constant_values=BIG + 1)),
    "flip_t": (A.t().flip(0).contiguous().numpy(), a.T[::-1]),
    "long": (webdl.tensor([-2.7, 3.9, 16777218.0, -1e9], device="webgl").long().numpy(),
             np.array([-2.7, 3.9, 16777218.0, -1e9], np.float32).astype(np.int64)),
    "float": (A.float().numpy(), a.astype(np.float32)),
    "mixed": ((A * 0.5).numpy(), a.astype(np.float32) * np.float32(0.5)),
    "true_div": ((A / B).numpy(), (a / b).astype(np.float32)),
}
# numpy's default int is int32 in Pyodide: compare kinds (webdl's ints read back as int64)
out = {k: [np.asarray(g).dtype.kind == np.asarray(w).dtype.kind and
           np.asarray(g).dtype.name in ("int64", "float32", "bool"), bool(np.array_equal(g, w)),
           np.asarray(g).ravel()[:4].tolist(), np.asarray(w).ravel()[:4].tolist()]
       for k, (g, w) in got.items()}
json.dumps(out)
""".replace("BIG", str(BIG))


def test_int_arithmetic_exact_past_2_24(browser):
    out = browser.check(_ARITH)
    for name, (same_dtype, equal, got, want) in out.items():
        if name == "true_div":      # float32 division of ints: within float32 rounding
            assert same_dtype, name
            continue
        assert same_dtype and equal, (name, got, want)


_COMPARE = """
import json, numpy as np, webdl
a = np.array([BIG + 1, BIG, BIG + 1, -BIG - 1, 2**31 - 1])
b = np.array([BIG, BIG, BIG + 2, -BIG, 2**31 - 2])
A, B = webdl.tensor(a, device="webgl"), webdl.tensor(b, device="webgl")
ops = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
       "gt": np.greater, "ge": np.greater_equal}
out = {}
for name, f in ops.items():
    out[name] = [getattr(A, name)(B).numpy().tolist(), f(a, b).tolist(),
                 getattr(A, name)(BIG).numpy().tolist(), f(a, BIG).tolist()]
json.dumps(out)
""".replace("BIG", str(BIG))


def test_comparisons_of_neighbours_past_2_24(browser):
    for name, (got, want, got_s, want_s) in browser.check(_COMPARE).items():
        assert got == want and got_s == want_s, name
    # the heart of it: 16777217 and 16777216 are one float32, two int32s
    assert browser.check(_COMPARE)["eq"][0][0] is False


_CUMSUM = """
import json, numpy as np, webdl
rng = np.random.default_rng(5)
x = rng.integers(2**20, 2**22, (3, 300))          # running sums pass 2**24 early
X = webdl.tensor(x, device="webgl")
m = rng.random((2, 500)) > 0.5
json.dumps([(X.cumsum(1).numpy() == np.cumsum(x, 1)).all().item(),
            (X.cumsum(0).numpy() == np.cumsum(x, 0)).all().item(),
            (webdl.tensor(m, device="webgl").cumsum(1).numpy() == np.cumsum(m, 1)).all().item(),
            int(X.cumsum(1).numpy()[0, -1]), int(np.cumsum(x, 1)[0, -1]),
            str(X.cumsum(1).dtype)])
"""


def test_cumsum_of_ints_past_2_24(browser):
    along1, along0, bools, got, want, dtype = browser.check(_CUMSUM)
    assert along1 and along0 and bools and dtype == "webdl.int64"
    assert got == want and want > 2 ** 24


_LARGE = """
import json, numpy as np, webdl
import webdl.nn.functional as F
n = BIG + 5
x = np.zeros(n, dtype=np.float32)
x[BIG + 3] = 2.0            # the maximum past 2**24 (its float32 neighbours: BIG + 2, BIG + 4)
x[BIG + 1] = -3.0           # the minimum
x[7] = 1.5
X = webdl.tensor(x, device="webgl")
vmax, imax = X.max(0)
res = {"argmax": [X.argmax().item(), int(np.argmax(x))],
       "argmin": [X.argmin().item(), int(np.argmin(x))],
       "max": [[vmax.item(), imax.item()], [float(x.max()), int(np.argmax(x))]],
       "argmax_2d": [X[:n - 5].reshape(2, BIG // 2).argmax(1).numpy().tolist(),
                     np.argmax(x[:n - 5].reshape(2, BIG // 2), 1).tolist()]}
# a table where the index's exactness shows: neighbours differ
table = (np.arange(n) % 1009).astype(np.float32)
T = webdl.tensor(table, device="webgl")
idx = np.array([[BIG + 1, BIG + 3], [5, BIG + 4]])
I = webdl.tensor(idx, device="webgl")
res["gather"] = [T.expand(2, n).gather(1, I).numpy().tolist(),
                 np.take_along_axis(np.broadcast_to(table, (2, n)), idx, 1).tolist()]
res["index_select"] = [T.index_select(0, I.reshape(-1)).numpy().tolist(), table[idx.ravel()].tolist()]
res["embedding"] = [F.embedding(I, T.reshape(n, 1)).numpy().reshape(2, 2).tolist(),
                    table[idx].tolist()]
res["indexing"] = [T[I].numpy().tolist(), table[idx].tolist()]
del X, T
# an int table: the values themselves need more than float32's 24 bits
vals = np.arange(BIG, BIG + 40) * 7
V = webdl.tensor(vals, device="webgl")
j = np.array([39, 1, 2, 0, 17])
res["int_gather"] = [V.gather(0, webdl.tensor(j, device="webgl")).numpy().tolist(),
                     vals[j].tolist()]
want = np.zeros(4, dtype=np.int64)
np.add.at(want, j % 4, vals[:5] + 1)
res["int_scatter_add"] = [
    webdl.zeros(4, dtype=webdl.long, device="webgl").scatter_add(
        0, webdl.tensor(j % 4, device="webgl"), V[:5] + 1).numpy().tolist(), want.tolist()]
json.dumps(res)
""".replace("BIG", str(BIG))


def test_indices_past_2_24(browser):
    """argmax over 2**24 + 5 elements with the maximum at 2**24 + 3; gather, index_select,
    embedding and indexing with indices past 2**24; gather and scatter_add of int values."""
    for name, (got, want) in browser.check(_LARGE).items():
        assert got == want, (name, got, want)


_SPLIT = """
import json, numpy as np, webdl
be = webdl.device('webgl').backend
rng = np.random.default_rng(9)
k = rng.integers(BIG, BIG + 1000, (123, 457))     # 56211 elements: split at the low limit
m = rng.random((123, 457)) > 0.5
orig = (be.info['splitAbove'], be.info['layerRows'])
be.set_split(8192, 2, max_texture=256)
try:
    K, M = webdl.tensor(k, device='webgl'), webdl.tensor(m, device='webgl')
    layers = be.realize(K._buf).split
    got = {'copy': [K, k], 'chain': [K * 3 - K // 7 + 1, k * 3 - k // 7 + 1],
           'count': [M.sum(), m.sum()],                  # a split int64 cast, summed
           'sum1': [(K - BIG).sum(1), (k - BIG).sum(1)],
           'argmax': [K.argmax(1), k.argmax(1)], 'amax': [K.amax(0), k.max(0)],
           'eq': [K == BIG + 5, k == BIG + 5],
           'cat': [webdl.cat([K, K + 1], 0), np.concatenate([k, k + 1], 0)],
           'strided': [K.t() + K.t(), k.T + k.T]}
    out = {n: bool(np.array_equal(g.numpy(), w)) for n, (g, w) in got.items()}
finally:
    be.set_split(*orig)
json.dumps([layers, out])
""".replace("BIG", str(BIG))


def test_split_int_tensors_exact(browser):
    """int64 tensors larger than one texture are R32I texture arrays (the split limit
    lowered, as tests/test_browser_split.py does): exact through the split-aware kernels."""
    layers, out = browser.check(_SPLIT)
    assert layers == 2
    assert all(out.values()), out


_REFUSED = """
import json, numpy as np, webdl
errors = {}
def err(name, f):
    try:
        f()
        errors[name] = None
    except Exception as e:
        errors[name] = [type(e).__name__, str(e)]
err("upload", lambda: webdl.tensor(np.array([1, 2**31]), device="webgl"))
err("upload_neg", lambda: webdl.tensor([-2**31 - 1], device="webgl"))
err("full", lambda: webdl.full((2,), 2**40, dtype=webdl.long, device="webgl"))
err("scalar", lambda: webdl.tensor([1, 2], device="webgl") + 2**35)
err("matmul", lambda: (webdl.tensor([[1, 2]], device="webgl")
                       @ webdl.tensor([[3], [4]], device="webgl")).numpy())
ok = webdl.tensor(np.array([2**31 - 1, -2**31]), device="webgl")
errors["in_range"] = ok.numpy().tolist()
json.dumps(errors)
"""


def test_int64_beyond_int32_raises_on_webgl(browser):
    r = browser.check(_REFUSED)
    for name in ("upload", "upload_neg", "full", "scalar"):
        kind, msg = r[name]
        assert kind == "ValueError" and "int32" in msg and "webgl" in msg, (name, msg)
    assert "2147483648" in r["upload"][1]
    kind, msg = r["matmul"]     # a float-only kernel refuses ints rather than round them
    assert kind == "NotImplementedError" and "matmul" in msg and "int64" in msg, msg
    assert r["in_range"] == [2 ** 31 - 1, -2 ** 31]


_WEBGPU = """
import json, numpy as np, webdl
out = {}
try:
    webdl.tensor(np.array([3, 2**24 + 1]), device="webgpu")
    out["upload"] = None
except ValueError as e:
    out["upload"] = str(e)
x = webdl.tensor(np.array([2**24, -2**24, 5]), device="webgpu")
out["edge"] = (x + 0).numpy().tolist()
json.dumps(out)
"""


def test_webgpu_refuses_ints_past_2_24(browser):
    """WebGPU keeps f32 storage: ints are exact to 2**24 there, and past it an upload raises
    instead of rounding."""
    if not browser.info.get("webgpu", {}).get("ok"):
        pytest.fail("this browser has no WebGPU adapter (test_browser_webgpu.py needs one too)")
    r = browser.check(_WEBGPU)
    assert r["upload"] and "webgpu" in r["upload"] and "2**24" in r["upload"], r
    assert r["edge"] == [2 ** 24, -2 ** 24, 5]
