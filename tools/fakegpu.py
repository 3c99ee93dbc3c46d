"""Host-cost harness: webdl's GPU backends on CPython with stub JS bridges.

The stubs answer every bridge call at once (ids, no GPU work, zeros read back), so a
training step runs the backends' whole Python side -- ops, autograd, the lazy elementwise
IR, code generation, uniform packing, the queues -- and nothing else: what this times and
profiles is the host cost per op that the browser pays on top of its JS and GPU work.
Values are meaningless (readbacks are zeros). Pyodide runs the same code 2-3x slower.

    python tools/fakegpu.py webgl|webgpu CASE[,CASE...] [reps] [--profile]

CASE: a bench case (train, lstm, transformer, generate) or ``model <name>`` /
``models`` (the bench's models group, tests/programs).
"""
import json
import os
import sys
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

PROBE = {"ok": True, "maxWidth": 4096, "smallWidth": 64, "storage": "float32",
         "precision": "float32", "layerRows": 2048, "maxDrawBuffers": 8, "maxTextureSize": 8192,
         "maxSplit": 1 << 28, "splitAbove": 4096 * 8192,
         "renderer": "stub (software: no GPU, so the built-in kernel choices)",
         "version": "stub"}
STATS = {"bytes": 0, "peakBytes": 0, "reservedBytes": 0, "peakReservedBytes": 0,
         "textures": 0, "peakTextures": 0, "pooledTextures": 0, "buffers": 0,
         "peakBuffers": 0, "pooledBuffers": 0, "drawCalls": 0, "dispatches": 0, "runMs": 0}


TRACE = []     # with --trace: every draw/dispatch and compile, in order (frees left out)


class _GL:
    """gl.js's calls, answered at once."""
    generation = 0
    earlyMs = 0.5      # gl.js's early-flush gate

    def __init__(self):
        self.n = 0

    def _id(self):
        self.n += 1
        return self.n

    def probe(self):
        return json.dumps(PROBE)

    def exec(self, cmds, numel, w, h, upload, is_int):
        if TRACE and cmds:
            TRACE.extend(json.dumps(c) for c in json.loads(cmds) if c[0] != "f")
        return self._id() if numel >= 0 else None

    def compile(self, key, src):
        if TRACE:
            TRACE.append("compile " + key + "\n" + src)
        return self._id()

    def upload(self, *a):
        return None

    def record(self, tpl):
        return self._id()

    def forget(self, tid):
        pass

    def replay(self, cmds, tid, inputs, outputs):
        if TRACE:
            TRACE.append(f"replay {tid}")
        return json.dumps([self._id() for _ in json.loads(outputs)])

    def downloadInto(self, buf, n, data):
        data[:n] = 0
        return True

    def memoryStats(self):
        return json.dumps(STATS)

    def setSplit(self, above, rows):
        return json.dumps({"splitAbove": above, "layerRows": rows})

    def emptyCache(self):
        pass

    resetPeakStats = emptyCache


class _GPU:
    """gpu.js's calls, answered at once (promises are plain values: run_sync returns them)."""
    generation = 0
    earlyMs = 0.5      # gpu.js's early-submit gate (the bridge reads it at import)

    def __init__(self):
        self.n = 0

    def infoJson(self):
        return json.dumps({"ok": True, "maxStorageBuffers": 10, "isFallbackAdapter": False,
                           "liveCap": 1 << 32, "maxStorageBufferBindingSize": 1 << 30,
                           "vendor": "stub", "architecture": "stub", "description": "stub"})

    def exec(self, q):
        if TRACE and q:
            w, i = json.loads(q), 0
            while i < len(w):
                if w[i] == 1:
                    TRACE.append(f"alloc {w[i + 1]} {w[i + 2]}")
                    i += 3
                elif w[i] == 2:
                    i += 2
                else:
                    n = w[i + 5]
                    m = w[i + 6 + n]
                    TRACE.append("dispatch " + json.dumps(w[i:i + 7 + n + m]))
                    i += 7 + n + m
        return None

    def upload(self, q, buf, array):
        self.exec(q)
        return None

    def readInto(self, q, buf, n, data):
        self.exec(q)
        data[:n] = 0
        return None

    def compile(self, key, src):
        if TRACE:
            TRACE.append("compile " + key + "\n" + src)
        self.n += 1
        return self.n

    def record(self, tpl):
        self.n += 1
        return self.n

    def forget(self, tid):
        pass

    def replay(self, q, tid, base, inputs):
        self.exec(q)
        if TRACE:
            TRACE.append(f"replay {tid}")

    def sync(self, q):
        self.exec(q)
        return None

    def memoryStats(self, q):
        self.exec(q)
        return json.dumps(STATS)

    def emptyCache(self, q):
        pass

    resetPeakStats = emptyCache


def install(device):
    """Stub bridges in; ``device`` becomes the default device. Returns webdl."""
    ffi = types.ModuleType("pyodide.ffi")
    ffi.run_sync = lambda p: p
    sys.modules.setdefault("pyodide", types.ModuleType("pyodide"))
    sys.modules["pyodide.ffi"] = ffi
    sys.modules["webdl_gpu"] = _GPU()
    import webdl
    from webdl.backends.webgl import bridge
    bridge._gl, bridge._why = _GL(), None
    webdl.set_default_device(device)
    return webdl


MODELS = ["mnist", "resnet20", "vae", "dcgan", "makemore_transformer", "makemore_mlp",
          "makemore_gru", "nanogpt"]


def cases(names, device):
    """{case: step function} for bench cases and ``model <name>``s on ``device``."""
    from webdl.apps import bench
    import programs
    import webdl
    out = {}
    for c in names:
        if c == "models":
            for m in MODELS:
                out.update(cases([f"model {m}"], device))
        elif c.startswith("model "):
            run = programs.RUNS[c[6:]](webdl, device)
            out[c] = run.step
        else:
            out[c] = bench._CASES[c]()
    return out


def main(argv):
    prof = "--profile" in argv
    trace = next((a[8:] for a in argv if a.startswith("--trace=")), None)
    argv = [a for a in argv if a != "--profile" and not a.startswith("--trace=")]
    if trace:
        TRACE.append("start")
    device, names = argv[0], argv[1].split(",")
    reps = int(argv[2]) if len(argv) > 2 else 5
    webdl = install(device)
    import contextlib
    import io
    from webdl.apps import bench
    with contextlib.redirect_stdout(io.StringIO()):
        fns = cases(names, device)
    for name, fn in fns.items():
        with contextlib.redirect_stdout(io.StringIO()):
            for _ in range(2):
                fn()
            ops = bench.count_ops(fn)
            times = []
            for _ in range(reps):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
        ms = sorted(times)[reps // 2] * 1e3
        if trace:
            from webdl.backends.webgl import bridge as glb
            from webdl.backends.webgpu import bridge as gpb
            glb.flush()
            if gpb._gpu is not None:
                gpb.flush()
            with open(trace, "a") as f:
                f.write(f"=== {name}\n" + "\n".join(TRACE) + "\n")
            TRACE[:] = ["start"]
        best = min(times) * 1e3
        print(f"{device:7} {name:28} ops {ops:6d}  step {ms:8.2f} ms  {ms * 1e3 / ops:6.1f} us/op"
              f"  (fastest {best * 1e3 / ops:6.1f} us/op)", flush=True)
        if prof:
            import cProfile
            import pstats
            pr = cProfile.Profile()
            with contextlib.redirect_stdout(io.StringIO()):
                pr.enable()
                fn()
                pr.disable()
            st = pstats.Stats(pr)
            st.sort_stats("tottime").print_stats(40)
            st.sort_stats("cumulative").print_stats(50)


if __name__ == "__main__":
    main(sys.argv[1:])
