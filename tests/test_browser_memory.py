"""webdl.memory_stats / memory_allocated / empty_cache / reset_peak_memory_stats, PyTorch's
torch.cuda names, on WebGL and WebGPU in headless Chromium: the figures against what the
test allocates and frees (a tensor of N floats holds at least 4N bytes), and on the numpy
backend, which keeps no statistics."""
import pytest

import webdl

N = 3 * 4096 + 5     # floats: more than one texture row, not a whole number of rows

_SCRIPT = """
import gc, json, numpy as np, webdl
dev = {dev!r}
keys = ("allocated_bytes.all.current", "allocated_bytes.all.peak", "reserved_bytes.all.current",
        "reserved_bytes.all.peak", "allocation.all.current", "allocation.all.peak",
        "segment.all.current")
def stats():
    gc.collect()
    s = webdl.memory_stats(dev)
    return {{**{{k: s[k] for k in keys + ("bytes", "pooledBytes", {unit!r})}},
            "stagingBytes": s.get("stagingBytes", 0)}}
x = None        # the page's namespace is shared: a tensor an earlier cell left in x goes now
gc.collect()    # earlier tests' garbage freed now, not into the pool after empty_cache
webdl.empty_cache(dev)
webdl.reset_peak_memory_stats(dev)
s0 = stats()
x = webdl.tensor(np.arange({n}, dtype=np.float32), device=dev)
s1 = stats()
fns = [webdl.memory_allocated(dev), webdl.max_memory_allocated(dev),
       webdl.memory_reserved(dev), webdl.max_memory_reserved(dev)]
total = float(x.max().item())
del x
s2 = stats()
gc.collect()
webdl.empty_cache(dev)
s3 = stats()
webdl.reset_peak_memory_stats(dev)
s4 = stats()
json.dumps([s0, s1, fns, s2, s3, s4, total])
"""


@pytest.mark.parametrize("dev,unit", [("webgl", "textures"), ("webgpu", "buffers")])
def test_memory_stats_follow_allocations(in_pyodide, dev, unit):
    s0, s1, fns, s2, s3, s4, total = in_pyodide.check(_SCRIPT.format(dev=dev, unit=unit, n=N))
    assert total == N - 1                     # the tensor was really there
    A, P = "allocated_bytes.all.current", "allocated_bytes.all.peak"
    R, RP = "reserved_bytes.all.current", "reserved_bytes.all.peak"
    # after empty_cache and reset: nothing pooled, peaks at the current values
    assert s0[R] == s0[A] == s0["bytes"] and s0[P] == s0[A] and s0[RP] == s0[R], s0
    assert s0["segment.all.current"] == s0["allocation.all.current"] == s0[unit]
    # one tensor of N floats: one more texture/buffer, at least 4N bytes (padding < 2x here)
    grew = s1[A] - s0[A]
    assert 4 * N <= grew < 8 * N, (s0, s1)
    assert s1["allocation.all.current"] == s0["allocation.all.current"] + 1
    assert s1[P] == s1[A] and s1[RP] >= s1[R] >= s1[A]
    assert fns == [s1[A], s1[P], s1[R], s1[RP]]           # the torch.cuda-style functions
    # freed: allocated back, the peak remembers (x and the partials of its max), the
    # freed texture waits in the pool
    assert s2[A] == s0[A] and s2["allocation.all.current"] == s0["allocation.all.current"]
    assert s2[P] >= s1[A] and s2["allocation.all.peak"] >= s1["allocation.all.current"]
    assert s2[R] == s2[A] + s2["pooledBytes"] + s2["stagingBytes"] and s2["pooledBytes"] >= grew
    assert (s2["stagingBytes"] > 0) == (dev == "webgpu")   # WebGPU keeps its readback buffer
    assert s2["segment.all.current"] > s2["allocation.all.current"]
    # empty_cache: reserved drops to allocated, the pool is empty, peaks unchanged
    assert s3[R] == s3[A] == s0[A] and s3["pooledBytes"] == s3["stagingBytes"] == 0, s3
    assert s3["segment.all.current"] == s3["allocation.all.current"]
    assert s3[P] == s2[P] and s3[RP] == s2[RP]
    # reset_peak_memory_stats: the peaks start again at the current values
    assert s4[P] == s4[A] and s4[RP] == s4[R] and s4["allocation.all.peak"] == s4[unit]


def test_numpy_backend_keeps_no_statistics():
    """cpu: memory_stats is empty, the byte counts say why they can't answer, and
    empty_cache / reset_peak_memory_stats have nothing to do."""
    assert webdl.memory_stats("cpu") == {}
    for fn in (webdl.memory_allocated, webdl.max_memory_allocated, webdl.memory_reserved,
               webdl.max_memory_reserved):
        with pytest.raises(RuntimeError, match=r"cpu device keeps no memory statistics"):
            fn("cpu")
    webdl.empty_cache("cpu")
    webdl.reset_peak_memory_stats("cpu")


_REPEAT = """
import gc, json, webdl
dev = {dev!r}
gc.collect()
webdl.empty_cache(dev)
def run():
    # 15 tensors of distinct sizes, about 22 MiB each, all live at once (330 MiB), then freed
    xs = [(webdl.zeros(5_500_000 + 4096 * 3 * i, device=dev) + i)._realize() for i in range(15)]
    top = [float(x[-1].item()) for x in xs[::7]]
    del xs
    gc.collect()
    return top
made = []
for _ in range(3):
    m0 = webdl.memory_stats(dev)[{made!r}]
    top = run()
    made.append(webdl.memory_stats(dev)[{made!r}] - m0)
pooled = webdl.memory_stats(dev)["pooledBytes"]
gc.collect()
webdl.empty_cache(dev)
json.dumps([made, top, pooled])
"""


@pytest.mark.parametrize("dev,made", [("webgl", "texturesMade"), ("webgpu", "buffersMade")])
def test_repeated_work_takes_its_memory_from_the_pool(in_pyodide, dev, made):
    """Work that repeats (a training step, a super-resolution tile) frees and takes back
    tensors of many exact sizes: the pool keeps them all, past its 256 MiB floor when that
    much was live at once (gl.js POOL_LIVE_FACTOR), so a second run makes no new ones.
    With a fixed 256 MiB cap the pool deleted what the next run made again (esrgan-slim x2
    256: 50 textures a run, 3.4x slower on the H100's GL driver)."""
    counts, top, pooled = in_pyodide.check(_REPEAT.format(dev=dev, made=made))
    assert top == [0.0, 7.0, 14.0]
    assert counts[0] >= 15 and counts[1:] == [0, 0], counts
    assert pooled >= 15 * 20 * 2 ** 20, pooled


def test_a_products_render_targets_come_and_go_together(in_pyodide):
    """The packed product's eight render targets are allocated by one queued command and
    freed by one when the product is gone (bridge.targets): the live texture count falls
    by eight when it is freed, and replays of a webdl.compile call (whose recording lists
    the eight one by one) leave nothing behind; the values against numpy."""
    r = in_pyodide.check("""
import gc, json, numpy as np, webdl
def live():
    gc.collect()
    return webdl.memory_stats('webgl')['textures']
rng = np.random.default_rng(3)
a_np, b_np = rng.standard_normal((70, 40), dtype=np.float32), rng.standard_normal((40, 50), dtype=np.float32)
a, b = webdl.tensor(a_np, device='webgl'), webdl.tensor(b_np, device='webgl')
y = a @ b                                 # lazy: the product stays in its eight targets
t1 = live()
err = float(np.abs((y * 1.0).numpy() - a_np @ b_np).max())
del y
t2 = live()
f = webdl.compile(lambda a, b: (a @ b) * 2.0)
outs = [f(a, b).numpy() for _ in range(4)]        # recorded on its second call, replayed
t3 = live()
outs += [f(a, b).numpy() for _ in range(6)]
t4 = live()
json.dumps([t1, t2, t3, t4, err, float(max(np.abs(o - 2 * a_np @ b_np).max() for o in outs))])
""")
    t1, t2, t3, t4, err, err2 = r
    assert err < 1e-4 and err2 < 2e-4, r
    assert t1 == t2 + 8, r                              # the targets went back together
    assert t4 == t3, r                                  # replays leave nothing behind
