"""``python -m webdl_tools soak``: a long training session in the notebook page (issue 16,
item 4). It opens the notebook in headless Chromium, loads the Examples menu's CNN, runs its
data and model cells once (and the training cell once more to warm up), then reruns the
training cell (60 Adam steps with a live loss plot) for ``--minutes`` minutes, as a user
would. Every minute it prints and records: the training steps done and steps per second
(over the time cells ran), webdl.memory_stats() (live textures, allocated and reserved
bytes), the JS heaps of the page and of the worker
(performance.measureUserAgentSpecificMemory; the page is cross-origin isolated), Pyodide's
WebAssembly memory and the Python heap (the bytes malloc'd in it, by dlmalloc's mallinfo,
and the gc-tracked objects), and the host's load average. At the end ``analyze`` checks
that memory stayed flat and the last minute's speed is within 10% of the first, writes
soak.csv and soak.json, and the exit status says whether it passed. Not part of `make test`
(`make soak`, SOAK_MINUTES=30 by default)."""
import csv
import json
import os
import statistics
import time

from . import ROOT

# per metric: (relative, absolute) growth allowed from the start (median of the first three
# minutes) to the end (median of the last three); the figures are sampled between cells,
# after gc.collect() in Python and the garbage collection the heap measurement forces
TOLERANCES = {
    "textures": (0.0, 2),                    # live GPU textures
    "gpu_bytes": (0.0, 1 << 20),             # allocated_bytes.all.current
    "gpu_reserved": (0.05, 8 << 20),         # reserved_bytes.all.current (pool included)
    "page_js": (0.10, 4 << 20),              # the page's JS heap (notebook, outputs, plots)
    "worker_js": (0.10, 4 << 20),            # the worker's JS heap (Pyodide's JS side)
    "wasm_bytes": (0.05, 16 << 20),          # Pyodide's WebAssembly memory (never shrinks)
    "py_heap": (0.05, 4 << 20),              # bytes malloc'd in it (Python objects, arrays)
    "py_objects": (0.05, 5000),              # len(gc.get_objects())
}
SPEED_TOLERANCE = 0.10     # the last minute's steps/s at least 90% of the first minute's
# "load": the host's 1-minute load average when sampled (not checked: it tells whether a
# change of speed came from other work on the machine)
COLUMNS = ["minute", "steps", "train_s", "steps_per_s", "loss", "load"] + list(TOLERANCES)


def analyze(rows, tolerances=TOLERANCES, speed_tolerance=SPEED_TOLERANCE):
    """Whether a soak's per-minute ``rows`` (dicts with the keys of COLUMNS) pass: a list of
    (check, ok, detail) and the overall verdict. A metric that was not measured (None) is
    reported, not checked."""
    if len(rows) < 2:
        return False, [("minutes", False, f"{len(rows)} minute(s) recorded: need at least 2")]
    k = min(3, len(rows) // 2)
    checks = []
    for name, (rel, absolute) in tolerances.items():
        vals = [r.get(name) for r in rows]
        if any(v is None for v in vals):
            checks.append((name, True, "not measured in this browser"))
            continue
        start, end = statistics.median(vals[:k]), statistics.median(vals[-k:])
        allowed = max(rel * start, absolute)
        grew = end - start
        checks.append((name, grew <= allowed,
                       f"{_fmt(start)} -> {_fmt(end)} (median of the first and last {k} "
                       f"minute(s); growth {_fmt(grew)}, allowed {_fmt(allowed)})"))
    first, last = rows[0]["steps_per_s"], rows[-1]["steps_per_s"]
    ratio = last / first if first else 0.0
    load = ""
    if rows[0].get("load") is not None and rows[-1].get("load") is not None:
        load = f"; the host's load average {rows[0]['load']:g} then {rows[-1]['load']:g}"
    checks.append(("steps_per_s", ratio >= 1 - speed_tolerance,
                   f"minute 1 {first:.3f}/s, minute {len(rows)} {last:.3f}/s "
                   f"({ratio:.1%} of minute 1; at least {1 - speed_tolerance:.0%} needed{load})"))
    return all(ok for _, ok, _ in checks), checks


def _fmt(v):
    return f"{v / 2 ** 20:.2f} MiB" if abs(v) >= 1 << 20 else f"{v:g}"


# --- driving the page -------------------------------------------------------------------------

_LOAD_EXAMPLE = """id => {
  const sel = document.querySelector("#examples");
  sel.value = id;
  sel.dispatchEvent(new Event("change"));
  return notebook.cells.map((c) => c.source);
}"""

# run cell i through the notebook's queue as a user would; its time and its error, if any
_RUN_CELL = """async (i) => {
  const c = notebook.cells[i];
  const t0 = performance.now();
  notebook.enqueue(c);
  while (c.state !== "idle") await new Promise((r) => setTimeout(r, 10));
  const err = c.outputs.find((o) => o.type === "error");
  return { ms: performance.now() - t0, error: err ? err.text : null };
}"""

# the JS heaps of the page and of its worker (after the garbage collection it waits for)
_JS_HEAPS = """async () => {
  if (!performance.measureUserAgentSpecificMemory) return null;
  const m = await performance.measureUserAgentSpecificMemory();
  const out = { page_js: 0, worker_js: 0 };
  for (const b of m.breakdown) {
    if (!b.types.includes("JavaScript")) continue;
    for (const a of b.attribution) {
      if (a.scope === "Window") out.page_js += b.bytes;
      if (a.scope === "DedicatedWorkerGlobalScope") out.worker_js += b.bytes;
    }
  }
  return out;
}"""

_PY_STATS = """
import gc, json, webdl
gc.collect()
_s = webdl.memory_stats()
json.dumps({"textures": _s["textures"], "gpu_bytes": _s["allocated_bytes.all.current"],
            "gpu_reserved": _s["reserved_bytes.all.current"], "py_objects": len(gc.get_objects()),
            "losses": len(losses), "loss": losses[-1]})
"""

# Pyodide's WebAssembly memory, and the bytes malloc'd in it: mallinfo() (a struct returned
# through a pointer, uordblks its 8th int), its memory from Python's raw allocator
_WASM_HEAP = """(() => {
  const m = pyodide._module;
  const p = m._PyMem_RawMalloc(40);
  m._mallinfo(p);
  const used = m.HEAPU32[(p >> 2) + 7];
  m._PyMem_RawFree(p);
  return { wasm_bytes: m.HEAP8.length, py_heap: used };
})()"""

TRAIN_CELL = 2     # the CNN example's cells: data, model, training loop, accuracy


def _sample(b):
    py = b.check(_PY_STATS)
    heaps = b.page.evaluate(_JS_HEAPS)
    if heaps is None:   # not isolated: the page's heap from the DevTools protocol
        cdp = b.ctx.new_cdp_session(b.page)
        heaps = {"page_js": cdp.send("Runtime.getHeapUsage")["usedSize"], "worker_js": None}
        cdp.detach()
    return {**py, **heaps, **b.page.workers[-1].evaluate(_WASM_HEAP)}


def run(minutes, out_dir, gpu="swiftshader", notice=print):
    from .browser import Browser
    rows = []
    with Browser("", gpu=gpu, notice=notice) as b:
        notice(f"soak: {b.info['backend']} on {b.info['renderer']}, {minutes} minute(s)")
        b.page.on("dialog", lambda d: d.accept())     # "replace this notebook?"
        b.page.evaluate(_LOAD_EXAMPLE, "cnn")
        for i in range(TRAIN_CELL + 1):               # data, model, one warm-up training run
            r = b.page.evaluate(_RUN_CELL, i)
            if r["error"]:
                raise RuntimeError(f"cell {i + 1} of the CNN example failed:\n{r['error']}")
        per_run = b.check(_PY_STATS)["losses"]   # steps of one training run
        print(f"{'min':>3} {'steps':>6} {'steps/s':>8} {'loss':>7} {'load':>5} {'textures':>8} "
              f"{'GPU MiB':>8} {'resv MiB':>8} {'page JS':>8} {'wrk JS':>8} {'wasm MiB':>8} "
              f"{'py MiB':>8} {'py objs':>8}", flush=True)
        t_next = time.monotonic() + 60
        steps = train_ms = 0
        while len(rows) < minutes:
            r = b.page.evaluate(_RUN_CELL, TRAIN_CELL)
            if r["error"]:
                raise RuntimeError(f"the training cell failed in minute {len(rows) + 1}:\n"
                                   f"{r['error']}")
            steps += per_run
            train_ms += r["ms"]
            if time.monotonic() < t_next:
                continue
            s = _sample(b)
            row = {"minute": len(rows) + 1, "steps": steps, "train_s": round(train_ms / 1000, 2),
                   "steps_per_s": round(steps / (train_ms / 1000), 4), "loss": s["loss"],
                   "load": round(os.getloadavg()[0], 2),
                   **{k: s[k] for k in TOLERANCES}}
            rows.append(row)
            print(_line(row), flush=True)
            steps = train_ms = 0
            t_next += 60
    ok, checks = analyze(rows)
    _write(rows, checks, ok, out_dir, b.info)
    for name, good, detail in checks:
        print(f"{'ok  ' if good else 'FAIL'} {name}: {detail}")
    print(f"soak: {'passed' if ok else 'FAILED'}; report in {out_dir}/soak.csv and soak.json")
    return 0 if ok else 1


def _mib(v):
    return "-" if v is None else f"{v / 2 ** 20:.2f}"


def _line(r):
    return (f"{r['minute']:3d} {r['steps']:6d} {r['steps_per_s']:8.3f} {r['loss']:7.1e} "
            f"{r['load']:5.1f} {r['textures']:8d} {_mib(r['gpu_bytes']):>8} "
            f"{_mib(r['gpu_reserved']):>8} {_mib(r['page_js']):>8} {_mib(r['worker_js']):>8} "
            f"{_mib(r['wasm_bytes']):>8} {_mib(r['py_heap']):>8} {r['py_objects']:8d}")


def _write(rows, checks, ok, out_dir, info):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "soak.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS)
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(out_dir, "soak.json"), "w") as f:
        json.dump({"passed": ok, "renderer": info.get("renderer"), "backend": info.get("backend"),
                   "tolerances": TOLERANCES, "speed_tolerance": SPEED_TOLERANCE,
                   "checks": [{"check": n, "ok": g, "detail": d} for n, g, d in checks],
                   "minutes": rows}, f, indent=1)


def main(args):
    return run(args.minutes, args.out, args.gpu)


DEFAULT_OUT = os.path.join(ROOT, "test-output")
