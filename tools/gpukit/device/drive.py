#!/usr/bin/env python3
"""gpukit driver, GPU-machine side: serve the project's web app, open its benchmark page in
headless Chromium on the NVIDIA GPU through ANGLE (Vulkan, then GL over EGL, alternately, for
several rounds) and write $OUT/results.json, $OUT/table.md and $OUT/logs.tar.gz.

No Playwright: gpurun.js, injected into the bench page, calls the page's benchmark functions
itself and POSTs what they return to this server. Started by run.sh after setup.sh."""
import functools
import http.server
import importlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

# ---- coupling to the project: the only names used (override with these environment variables) ----
PROJECT = {
    # an http.server handler class (taking directory=) that serves web/ with the app's headers
    # (COOP/COEP for SharedArrayBuffer; a CSP that allows 'unsafe-eval' on the bench page)
    "handler": os.environ.get("GPU_HANDLER", "webdl_tools.server:Handler"),
    # the cases `python -m webdl_tools bench` runs: [{"id", "kind", "args", "reps"?, "warmup"?}]
    "cases": os.environ.get("GPU_CASES", "webdl_tools.cli:ALL_CASES"),
    # optional {case id: minimum ratio}; "" for none
    "targets": os.environ.get("GPU_TARGETS", "webdl_tools.cli:TARGETS"),
    # the page that loads TensorFlow.js, webdl and the bench code
    "page": os.environ.get("GPU_PAGE", "bench.html"),
    # in that page: run({cases, reps}) -> {results: [{id, webdl: {median, min, max}, tfjs: {..},
    # ratio}], overheadUs, tfjsOverheadUs, tfjs: {version, backend}, renderer}
    "js_run": os.environ.get("GPU_JS_RUN", "bench.run"),
    "js_cold": os.environ.get("GPU_JS_COLD", "bench.cold"),     # cold("tfjs" | "webdl") -> ms
    "js_ready": os.environ.get("GPU_JS_READY", "webdl.ready"),  # promise -> {renderer, ...}
    # the row name `python -m webdl_tools bench` gives the cold result (looked up in the targets)
    "cold_id": os.environ.get("GPU_COLD_ID", "cold esrgan-slim x2 128x128"),
}

# ---- Chromium: flags that gave the NVIDIA renderer on the GPU machine (no X, no display) ----
BASE_FLAGS = ["--headless=new", "--no-sandbox", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0",
              "--window-size=1280,900"]
BACKENDS = {
    "vulkan": ["--use-angle=vulkan", "--enable-features=Vulkan", "--disable-vulkan-surface",
               "--ignore-gpu-blocklist"],
    "gl-egl": ["--use-gl=angle", "--use-angle=gl-egl", "--ignore-gpu-blocklist"],
    # for comparison only (rejected by GPU_ACCEPT=nvidia): the CPU rasteriser the CLI uses
    "swiftshader": ["--use-angle=swiftshader", "--enable-unsafe-swiftshader"],
}

env = os.environ.get
# extra flags for every browser, e.g. WebGPU on the NVIDIA adapter (with the vulkan backend):
# GPU_EXTRA_FLAGS="--enable-unsafe-webgpu --disable-gpu-compositing"
BASE_FLAGS += env("GPU_EXTRA_FLAGS", "").split()
BASE = env("GPUKIT_BASE", "/tmp/gpukit")
KIT = os.path.dirname(os.path.abspath(__file__))
WEB, SRC = BASE + "/app/web", BASE + "/app/src"
CHROME = env("GPU_CHROME", BASE + "/chromium/usr/lib/chromium/chromium")
OUT = os.path.join(env("OUT") or os.path.abspath("gpukit-out"), env("GPU_OUT_SUB", ""))
LOG = BASE + "/logs"
T0 = time.time()
DEADLINE = T0 + float(env("GPU_DEADLINE_S", "520"))
SEL = [b for b in env("GPU_BACKENDS", "vulkan,gl-egl").split(",") if b]
ROUNDS = int(env("GPU_ROUNDS", "2"))
REPS = int(env("GPU_REPS", "5"))
ONLY = [o for o in env("GPU_ONLY", "").split(",") if o]
EXTRA = json.loads(env("GPU_EXTRA", "[]"))
COLD = env("GPU_COLD", "1") == "1"
FRESH = env("GPU_FRESH", "1") == "1"
FRESH_DELAY_MS = int(env("GPU_FRESH_DELAY_MS", "3000"))
FRESH_TIMEOUT = float(env("GPU_FRESH_TIMEOUT", "60"))
RUN_TIMEOUT = float(env("GPU_RUN_TIMEOUT", "240"))
ACCEPT = env("GPU_ACCEPT", "nvidia").lower()
# more of the page's query, e.g. "device=webgpu" or "device=webgl&tfjs=webgl" (kept by the cold runs)
QUERY = "&" + env("GPU_QUERY", "") if env("GPU_QUERY", "") else ""


def say(*a):
    print(f"[{time.time() - T0:6.1f}s]", *a, flush=True)


def load(spec):
    mod, _, attr = spec.partition(":")
    return getattr(importlib.import_module(mod), attr)


sys.path[:0] = [SRC, os.path.join(BASE, "app", "tools")]
try:
    Handler = load(PROJECT["handler"])
    CASES = load(PROJECT["cases"])
    TARGETS = load(PROJECT["targets"]) if PROJECT["targets"] else {}
except (ImportError, AttributeError) as e:
    sys.exit(f"gpukit: cannot load the project's names ({e}); set GPU_HANDLER / GPU_CASES / "
             "GPU_TARGETS (module:name, imported from the packed src/) or edit PROJECT in drive.py")
CASES = [c for c in CASES if not ONLY or any(o in c["id"] for o in ONLY)]
COLD = COLD and (not ONLY or any("cold" in o for o in ONLY) or any(o in PROJECT["cold_id"] for o in ONLY))
CFG = {"cases": CASES, "reps": REPS, "extra": EXTRA, "cold": COLD,
       "api": {"run": PROJECT["js_run"], "cold": PROJECT["js_cold"], "ready": PROJECT["js_ready"]}}
KIT_FILES = {"gpurun.js": "text/javascript", "probe.html": "text/html; charset=utf-8",
             "probe.js": "text/javascript", "probe_worker.js": "text/javascript"}

os.makedirs(OUT, exist_ok=True)
shutil.rmtree(LOG, ignore_errors=True)
os.makedirs(LOG)
posts, cond = {}, threading.Condition()


class H(Handler):
    """The project's handler (its headers, its MIME types) plus: /__gpukit/* (the kit's pages,
    the config, result POSTs) and the bench page with gpurun.js injected when ?gpukit= is set."""

    def _send(self, body, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == "/__gpukit/cfg.json":
            return self._send(json.dumps(CFG).encode(), "application/json")
        if path.startswith("/__gpukit/") and path[10:] in KIT_FILES:
            with open(os.path.join(KIT, path[10:]), "rb") as f:
                return self._send(f.read(), KIT_FILES[path[10:]])
        if path == "/" + PROJECT["page"] and "gpukit=" in query:
            with open(os.path.join(WEB, PROJECT["page"]), encoding="utf-8") as f:
                html = f.read()
            tag = '<script src="/__gpukit/gpurun.js"></script>\n'
            i = html.rfind("</body>")
            html = html[:i] + tag + html[i:] if i >= 0 else html + tag
            return self._send(html.encode(), "text/html; charset=utf-8")
        return super().do_GET()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        name = self.path.split("/__gpukit/post/", 1)[-1].split("?")[0]
        with open(f"{LOG}/posts.log", "a") as f:
            f.write(f"{time.time() - T0:8.1f} {name} {body[:200000]}\n")
        with cond:
            posts.setdefault(name, []).append(body)
            cond.notify_all()
        self.send_response(204)
        self.end_headers()

    def log_message(self, fmt, *args):
        with open(f"{LOG}/http.log", "a") as f:
            f.write(f"{time.time() - T0:8.1f} " + (fmt % args) + "\n")


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(H, directory=WEB))
PORT = srv.server_address[1]
threading.Thread(target=srv.serve_forever, daemon=True).start()

# ---- Chromium's environment: the carried libraries first, then the NVIDIA driver's folder ----
ENV = dict(os.environ)
libs = [BASE + "/deps/lib", os.path.dirname(CHROME)]
libs += [d for d in ("/usr/local/nvidia/lib64", "/usr/local/nvidia/lib") if os.path.isdir(d)]
ENV["LD_LIBRARY_PATH"] = ":".join(libs + ([ENV["LD_LIBRARY_PATH"]] if ENV.get("LD_LIBRARY_PATH") else []))
ENV["FONTCONFIG_FILE"] = BASE + "/deps/fonts.conf"
ENV["HOME"] = BASE + "/home"
os.makedirs(ENV["HOME"], exist_ok=True)
for var, nv, system in (
        ("VK_DRIVER_FILES", "/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json",
         ["/usr/share/vulkan/icd.d/nvidia_icd.json", "/etc/vulkan/icd.d/nvidia_icd.json"]),
        ("__EGL_VENDOR_LIBRARY_FILENAMES", "/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json",
         ["/usr/share/glvnd/egl_vendor.d/10_nvidia.json"])):
    if os.path.exists(nv) and not any(map(os.path.exists, system)):
        ENV[var] = nv


def sh(args, **kw):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=20, **kw).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"({e})"


META = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0)),
        "gpu": sh(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"]),
        "chromium": sh([CHROME, "--version"], env=ENV),
        "packed": open(os.path.join(KIT, "PACKED")).read().strip() if os.path.exists(os.path.join(KIT, "PACKED")) else "",
        "env": {k: ENV.get(k) for k in ("LD_LIBRARY_PATH", "FONTCONFIG_FILE", "VK_DRIVER_FILES",
                                        "__EGL_VENDOR_LIBRARY_FILENAMES")},
        "base_flags": BASE_FLAGS, "backends": {b: BACKENDS[b] for b in SEL}, "rounds": ROUNDS,
        "reps": REPS, "only": ONLY, "extra": EXTRA, "cold": COLD, "fresh": FRESH,
        "fresh_delay_ms": FRESH_DELAY_MS, "project": PROJECT}
say("gpu:", META["gpu"], "|", META["chromium"], "| port", PORT)


class Clocks:
    """nvidia-smi once a second while a browser runs: the SM clock explains much of the noise."""

    def __enter__(self):
        self.samples, self.stop = [], threading.Event()
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()
        return self

    def _loop(self):
        while not self.stop.is_set():
            o = sh(["nvidia-smi", "-i", "0", "--query-gpu=clocks.sm,power.draw",
                    "--format=csv,noheader,nounits"])
            try:
                sm, pw = (float(x) for x in o.split(","))
                self.samples.append((sm, pw))
            except ValueError:
                pass
            self.stop.wait(1.0)

    def __exit__(self, *a):
        self.stop.set()
        self.t.join(5)

    def summary(self):
        if not self.samples:
            return None
        sm = sorted(s[0] for s in self.samples)
        return {"sm_min": sm[0], "sm_median": statistics.median(sm), "sm_max": sm[-1],
                "power_median_w": statistics.median(s[1] for s in self.samples), "n": len(sm)}


def chrome(tag, flags, path, timeout, wait_for="done"):
    """One Chromium, fresh profile, on path; returns once tag.wait_for is posted (or timeout)."""
    prof = tempfile.mkdtemp(prefix=f"prof-{tag}-", dir=BASE)
    url = f"http://127.0.0.1:{PORT}/{path}{'&' if '?' in path else '?'}tag={tag}"
    args = [CHROME] + BASE_FLAGS + flags + [f"--user-data-dir={prof}", url]
    logp = f"{LOG}/chrome_{tag}.log"
    t_start, key = time.time(), f"{tag}.{wait_for}"
    with open(logp, "wb") as logf:
        logf.write((" ".join(args) + "\n").encode())
        logf.flush()
        p = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT, env=ENV, start_new_session=True)
        end = min(t_start + timeout, DEADLINE)
        with cond:
            while key not in posts and p.poll() is None and time.time() < end:
                cond.wait(min(1.0, max(0.01, end - time.time())))
        ok, rc = key in posts, p.poll()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(p.pid, sig)
                p.wait(8)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
    shutil.rmtree(prof, ignore_errors=True)
    if os.path.getsize(logp) > 4 << 20:   # keep the head and the tail of very long logs
        data = open(logp, "rb").read()
        open(logp, "wb").write(data[:1 << 20] + b"\n[... cut ...]\n" + data[-(1 << 20):])
    secs = time.time() - t_start
    say(f"chrome {tag}: {'ok' if ok else 'NO RESULT'} in {secs:.1f}s" + ("" if rc is None else f" (exited {rc})"))
    return ok, secs


def _value(v):
    """A posted value: its JSON, or the text itself (a progress post may arrive cut short)."""
    if v[:1] in "{[":
        try:
            return json.loads(v)
        except ValueError:
            pass
    return v


def got(key):
    return [_value(v) for v in posts.get(key, [])]


def last(key):
    v = got(key)
    return v[-1] if v else None


# ---- probes: a WebGL2 context on the page and in a worker, per backend -----------------------
results = {"meta": META, "probes": {}, "runs": []}
ok_backends = []
for b in SEL:
    tag = f"probe-{b}"
    chrome(tag, BACKENDS[b], "__gpukit/probe.html", 40)
    pr = last(f"{tag}.probe") or {}
    main, worker = pr.get("main") or {}, pr.get("worker") or {}
    accepted = bool(ACCEPT in json.dumps([main.get("renderer"), worker.get("renderer")]).lower()
                    and worker.get("colorBufferFloat"))
    results["probes"][b] = {"flags": BACKENDS[b], "accepted": accepted, "main": main, "worker": worker,
                            "ua": pr.get("ua")}
    say(f"probe {b}: {'OK' if accepted else 'REJECTED'}: page {main.get('renderer')} | worker {worker.get('renderer')}")
    if accepted:
        ok_backends.append(b)
    elif not pr:
        say("  no probe result; the tail of its Chromium log:")
        print("\n".join(open(f"{LOG}/chrome_{tag}.log", errors="replace").read().splitlines()[-12:]), flush=True)


def run_once(b, rnd):
    tag = f"{b}-r{rnd}"
    run = {"backend": b, "round": rnd, "tag": tag, "flags": BACKENDS[b], "errors": []}
    with Clocks() as clk:
        ok, run["seconds"] = chrome(tag, BACKENDS[b], f"{PROJECT['page']}?gpukit=1{QUERY}", RUN_TIMEOUT)
    run["clocks"] = clk.summary()
    main = last(f"{tag}.main")
    run["ready"] = last(f"{tag}.ready")
    run["lost_contexts"] = len(posts.get(f"{tag}.lost", []))
    run["errors"] += [x for x in got(f"{tag}.log")]
    if not ok:
        run["errors"].append("no 'done' from the page (timeout or crash); last progress: " +
                             str(last(f"{tag}.progress"))[-400:])
    if main:
        if main.get("error"):
            run["errors"].append("bench: " + str(main["error"])[:1500])
        run["renderer"] = main.get("renderer") or (run["ready"] or {}).get("info", {}).get("renderer")
        run["tfjs_renderer"] = (main.get("tf") or {}).get("renderer")
        run["tfjs"] = main.get("tfjs")
        run["kernels"] = main.get("kernels")     # webdl's kernel choice per device
        rows = list(main.get("results") or [])
        for pc in got(f"{tag}.percase"):
            rows += pc.get("results", [pc])
        for e in got(f"{tag}.extra"):
            rows += e.get("results", [e])
        if main.get("overheadUs") is not None and main.get("tfjsOverheadUs") is not None:
            rows.append(row("small-op overhead (us per op)", main["overheadUs"], main["tfjsOverheadUs"]))
        run["wallMs"] = main.get("wallMs")
    else:
        # cut short (the page's time ran out): the cases it finished, from its last progress
        prog = last(f"{tag}.progress")
        rows = [r for r in prog if isinstance(r, dict) and "id" in r] \
            if isinstance(prog, list) else []
        if rows:
            run["errors"].append(f"partial: the {len(rows)} cases finished before it stopped")
    ct, cw = last(f"{tag}.cold_tfjs"), last(f"{tag}.cold_webdl")
    if COLD:
        rows.append(row(PROJECT["cold_id"] + " (new page, same browser, as the CLI)",
                        (cw or {}).get("ms"), (ct or {}).get("ms"),
                        err="; ".join(x.get("error") for x in (ct, cw) if x and x.get("error"))))
    if FRESH and COLD:
        fr = {}
        for which in ("tfjs", "webdl"):
            if time.time() > DEADLINE - 30:
                run["errors"].append("fresh-browser cold runs skipped: deadline")
                break
            t = f"{tag}-fresh-{which}"
            chrome(t, BACKENDS[b], f"{PROJECT['page']}?gpukit=1{QUERY}&cold={which}&delay={FRESH_DELAY_MS}",
                   FRESH_TIMEOUT)
            fr[which] = last(f"{t}.cold_{which}") or {"error": "no result (timeout)"}
            if posts.get(f"{t}.lost"):
                fr[which]["lost_contexts"] = len(posts[f"{t}.lost"])
        run["fresh"] = fr
        rows.append(row(PROJECT["cold_id"] + " (fresh browser + profile)",
                        (fr.get("webdl") or {}).get("ms"), (fr.get("tfjs") or {}).get("ms"),
                        err="; ".join(f"{w}: {x['error']}" for w, x in fr.items() if x.get("error"))))
    run["rows"] = rows
    return run


def row(rid, webdl_ms, tfjs_ms, err=""):
    r = {"id": rid}
    if webdl_ms is not None:
        r["webdl"] = {"median": webdl_ms, "min": webdl_ms, "max": webdl_ms, "n": 1}
    if tfjs_ms is not None:
        r["tfjs"] = {"median": tfjs_ms, "min": tfjs_ms, "max": tfjs_ms, "n": 1}
    if webdl_ms and tfjs_ms:
        r["ratio"] = tfjs_ms / webdl_ms
    if err:
        r["error"] = err
    return r


def target(rid):
    t = TARGETS.get(rid)
    if t is None and rid.startswith(PROJECT["cold_id"] + " (new page"):
        t = TARGETS.get(PROJECT["cold_id"])
    return f">= {t}" if t is not None else ""


def fmt(v):
    return "n/a" if v is None else (f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}")


def table():
    runs = results["runs"]
    ids = []
    for r in runs:
        for x in r["rows"]:
            if x["id"] not in ids:
                ids.append(x["id"])
    by = {b: [r for r in runs if r["backend"] == b] for b in SEL if any(r["backend"] == b for r in runs)}
    L = [f"# webdl vs TensorFlow.js on {META['gpu']} ({META['chromium']}, headless)", "",
         f"{META['started']}; {META['packed']}", "",
         f"{ROUNDS} round(s), backends alternated (order reversed every other round); reps {REPS} "
         "unless a case sets its own; each cell is one run's median (ms), in run order; "
         "ratio = tfjs ms / webdl ms (> 1: webdl faster).", ""]
    if by:
        L += ["## Ratio tfjs/webdl per case (median over rounds)", "",
              "| case | " + " | ".join(by) + " | target |", "|---" * (len(by) + 2) + "|"]
        for i in ids:
            cells = []
            for b, rs in by.items():
                v = [x.get("ratio") for r in rs for x in r["rows"] if x["id"] == i and x.get("ratio")]
                cells.append(fmt(statistics.median(v)) if v else "n/a")
            L.append(f"| {i} | " + " | ".join(cells) + f" | {target(i)} |")
    for b, rs in by.items():
        rend = sorted({r.get("renderer") or "?" for r in rs})
        L += ["", f"## {b}: `{' / '.join(rend)}`", "",
              "flags: `" + " ".join(BACKENDS[b]) + "`; TensorFlow.js page renderer: `" +
              " / ".join(sorted({str(r.get('tfjs_renderer')) for r in rs})) + "`", ""]
        ck = [f"r{r['round']} {c['sm_min']:.0f}/{c['sm_median']:.0f}/{c['sm_max']:.0f}"
              for r in rs if (c := r.get("clocks"))]
        if ck:
            L += ["GPU SM clock during each bench run, MHz min/median/max: " + ", ".join(ck), ""]
        rr = " / ".join(f"r{r['round']}" for r in rs)
        L += [f"| case | webdl ms ({rr}) | tfjs ms ({rr}) | ratio ({rr}) | target |", "|---|---|---|---|---|"]
        for i in ids:
            xs = [next((x for x in r["rows"] if x["id"] == i), {}) for r in rs]
            if not any(xs):
                continue
            w = " / ".join(fmt((x.get("webdl") or {}).get("median")) for x in xs)
            t = " / ".join(fmt((x.get("tfjs") or {}).get("median")) for x in xs)
            q = " / ".join(fmt(x.get("ratio")) for x in xs)
            L.append(f"| {i} | {w} | {t} | {q} | {target(i)} |")
        for r in rs:    # the kernel variants webdl chose on this GPU, per shape class
            for dev, rep in (r.get("kernels") or {}).items():
                ch = rep.get("chosen") or {}
                L += ["", f"r{r['round']} kernel choice on {dev} ({rep.get('mode')}): " +
                      (", ".join(f"{k} {v} ({', '.join(f'{a} {t}' for a, t in (rep.get('measured') or {}).get(k, {}).items())})"
                                 for k, v in sorted(ch.items())) or "the built-in choices")]
        errs = [f"r{r['round']}: {e}" for r in rs for e in r["errors"]]
        errs += [f"r{r['round']}: {x['id']}: {x['error']}" for r in rs for x in r["rows"] if x.get("error")]
        errs += [f"r{r['round']}: {r['lost_contexts']} WebGL context(s) lost on the bench page"
                 for r in rs if r.get("lost_contexts")]
        if errs:
            L += [""] + ["- " + e.replace("\n", " ")[:600] for e in errs]
    bad = [b for b in SEL if not results["probes"].get(b, {}).get("accepted")]
    if bad:
        L += ["", "## Backends rejected by the probe (renderer lacks '" + ACCEPT + "' or float render targets)", ""]
        for b in bad:
            p = results["probes"].get(b, {})
            L.append(f"- {b}: page `{(p.get('main') or {}).get('renderer')}`, worker `{(p.get('worker') or {}).get('renderer')}`")
    return "\n".join(L) + "\n"


def save():
    results["elapsed_s"] = time.time() - T0
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(OUT, "table.md"), "w") as f:
        f.write(table())


save()
for rnd in range(1, ROUNDS + 1):
    order = ok_backends if rnd % 2 else ok_backends[::-1]
    for b in order:
        if time.time() > DEADLINE - 60:
            say(f"skipping {b} round {rnd}: deadline (GPU_DEADLINE_S)")
            results.setdefault("skipped", []).append(f"{b} r{rnd}")
            continue
        results["runs"].append(run_once(b, rnd))
        save()
save()
with tarfile.open(os.path.join(OUT, "logs.tar.gz"), "w:gz") as tf:
    tf.add(LOG, arcname="gpukit-logs")
print(table(), flush=True)
srv.shutdown()
complete = ok_backends == SEL and all(r["rows"] and not r["errors"] for r in results["runs"]) \
    and len(results["runs"]) == ROUNDS * len(SEL)
say("done" + ("" if complete else " (with problems: see the notes under the tables)"))
sys.exit(0 if complete else 1)
