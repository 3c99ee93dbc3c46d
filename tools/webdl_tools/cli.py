"""``python -m webdl_tools``: ``serve`` the web app, ``upscale`` images, ``bench`` against
TensorFlow.js, ``soak`` (a long training session in the notebook). CPython, in a checkout
after set-up."""
import argparse
import base64
import json
import os
import sys
import time

from . import ROOT, soak
from .browser import GPU_CHOICES
from .server import WEB_ROOT, make_server


def serve(args):
    if not os.path.exists(os.path.join(WEB_ROOT, "vendor", "manifest.json")):
        print("webdl serve: the browser files are not set up; run `make serve`", file=sys.stderr)
        return 1
    srv = make_server(args.host, args.port)
    print(f"webdl: serving {WEB_ROOT} on http://{args.host}:{srv.server_address[1]}/ "
          "(Ctrl+C stops)", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


class CliError(Exception):
    """A problem with what the user asked for: one line, exit status 2."""


def _read_image(path):
    from PIL import Image, UnidentifiedImageError
    import numpy as np
    try:
        if os.path.getsize(path) == 0:
            raise CliError(f"{path}: the file is empty")
        with Image.open(path) as im:
            im.load()
            return np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise CliError(f"{path}: not an image (PNG, JPEG or WebP expected)") from None
    except OSError as e:
        raise CliError(f"{path}: unreadable image ({e})") from None


def _progress(done, total, elapsed):
    print(f"\rtile {done}/{total} · {elapsed:.1f} s", end="" if done < total else "\n",
          file=sys.stderr, flush=True)


_PAGE_UPSCALE = """
async ([b64, width, height, model, scale, tile]) => {
  const bin = atob(b64);
  const rgba = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) rgba[i] = bin.charCodeAt(i);
  const off = webdl.onEvent((m) => {
    if (m.type === "display" && m.kind === "progress") console.log("webdl-progress " + JSON.stringify(m.data));
  });
  const code = "import base64, webdl.apps.superres, webdl.display\\n" +
    "out, _ = webdl.apps.superres.upscale_rgba(inputs, " + JSON.stringify(model) + ", " + scale +
    ", " + tile + ")\\nbase64.b64encode(webdl.display._png(out)).decode()";
  const r = await webdl.runPython(code, { rgba, width, height });
  off();
  return r;
}
"""


def _notice(msg):
    print(msg, file=sys.stderr)


def _page(path, device):
    """The page's URL with ``?device=`` when one is forced ("auto": the page chooses)."""
    return path if device in (None, "auto") else f"{path}?device={device}"


def _upscale_browser(img, model, scale, tile, gpu, device):
    import numpy as np
    from .browser import Browser
    h, w, _ = img.shape
    rgba = np.concatenate([img, np.full((h, w, 1), 255, np.uint8)], axis=2)
    with Browser(_page("runtime.html", device), gpu=gpu, notice=_notice) as b:
        print(f"webdl: {b.info['backend']} on {b.info['renderer']} ({b.info.get('why')})",
              file=sys.stderr)
        if b.info["backend"] not in ("webgl", "webgpu"):
            raise RuntimeError("the browser has no usable GPU: " +
                               str(b.info.get("why") or b.info.get("gpu", {}).get("error")))
        b.page.on("console", lambda m: m.text.startswith("webdl-progress ") and _progress(
            **json.loads(m.text[len("webdl-progress "):])))
        r = b.page.evaluate(_PAGE_UPSCALE, [base64.b64encode(rgba.tobytes()).decode(), w, h,
                                            model, scale, tile])
    if not r["ok"]:
        raise RuntimeError(r["error"].strip().splitlines()[-1])
    import ast
    return base64.b64decode(ast.literal_eval(r["result"]))


def upscale(args):
    from webdl.apps import superres
    from webdl.display import _png
    t0 = time.perf_counter()
    tmp = args.output + ".part"
    try:
        superres.check_request(args.model, args.scale)
        img = _read_image(args.input)
        superres.check_request(args.model, args.scale, img.shape[0], img.shape[1])
        if not os.path.isdir(os.path.dirname(os.path.abspath(args.output))):
            raise CliError(f"{args.output}: the folder does not exist")
        print(f"webdl: {args.model} x{args.scale} on {img.shape[1]}x{img.shape[0]} "
              f"({args.backend})", file=sys.stderr)
        if args.backend == "numpy":
            up = superres.load(args.model, args.scale)
            png = _png(up(img, tile=args.tile, progress=_progress))
        else:
            png = _upscale_browser(img, args.model, args.scale, args.tile, args.gpu,
                                   None if args.backend == "browser" else args.backend)
        with open(tmp, "wb") as f:
            f.write(png)
        os.replace(tmp, args.output)   # OUT appears whole or not at all
    except (CliError, superres.UpscaleError) as e:
        print(f"webdl upscale: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - one line, not a traceback
        print(f"webdl upscale: failed: {e}", file=sys.stderr)
        return 1
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"webdl: wrote {args.output} in {time.perf_counter() - t0:.2f} s")
    return 0


BENCH_CASES = [
    {"id": "matmul 256", "kind": "matmul", "args": {"n": 256}, "reps": 15},
    {"id": "matmul 512", "kind": "matmul", "args": {"n": 512}, "reps": 9},
    {"id": "matmul 1024", "kind": "matmul", "args": {"n": 1024}, "reps": 3},
    {"id": "matmul 2048", "kind": "matmul", "args": {"n": 2048}, "reps": 3},
    {"id": "conv2d 3x3 64->64 128x128", "kind": "conv2d", "args": {}},
    {"id": "elementwise relu(x*w+b)*s 1M", "kind": "elementwise", "args": {}, "reps": 15},
    {"id": "esrgan-slim x2 128x128", "kind": "esrgan", "args": {"size": 128}, "reps": 3},
    # warm-up 2: the app's model records on a tile size's second call and replays from the
    # third (webdl.compile), what every later tile of an image gets
    {"id": "esrgan-slim x2 256x256", "kind": "esrgan", "args": {"size": 256}, "reps": 3,
     "warmup": 2},
    {"id": "esrgan-medium x2 128x128", "kind": "esrgan",
     "args": {"model": "esrgan-medium", "size": 128}, "reps": 3, "warmup": 2},
    # issue #15's reductions group and attention block (forward and backward)
    {"id": "softmax/log-softmax/layer-norm/cross-entropy 2048x1024", "kind": "softmax",
     "args": {}, "reps": 5},
    {"id": "attention 8x128x64 fwd+bwd", "kind": "attention", "args": {}, "reps": 5},
    {"id": "train step small CNN (Adam)", "kind": "train", "args": {}, "reps": 15},
    # the same step through webdl.compile (recorded on its second call: warm-up 2)
    {"id": "train step small CNN (Adam), compiled", "kind": "train", "args": {"compiled": 1},
     "reps": 15, "warmup": 2},
]
# sequence models (issue #13); "profile": the webdl side also reports its per-op overhead
SEQUENCE_CASES = [
    {"id": "lstm 2x256 train step", "kind": "lstm", "args": {}, "reps": 3,
     "profile": True},
    {"id": "transformer 4x128 train step", "kind": "transformer", "args": {}, "reps": 3,
     "profile": True},
    # the same steps through webdl.compile (recorded on the second call: warm-up 2; the
    # profile's ops are those a replay runs in Python: none)
    {"id": "lstm 2x256 train step, compiled", "kind": "lstm", "args": {"compiled": 1},
     "reps": 3, "warmup": 2, "profile": True},
    {"id": "transformer 4x128 train step, compiled", "kind": "transformer",
     "args": {"compiled": 1}, "reps": 3, "warmup": 2, "profile": True},
    {"id": "gpt generate 200 tokens", "kind": "generate", "args": {}, "reps": 3,
     "warmup": 1, "profile": True},
    # the same with the model through webdl.compile (replayed once the context is full)
    {"id": "gpt generate 200 tokens, compiled", "kind": "generate", "args": {"compiled": 1},
     "reps": 3, "warmup": 1, "profile": True},
]
SEQUENCE_TARGETS = {"lstm 2x256 train step": 1.3,
                    "transformer 4x128 train step": 1.3}
BENCH_CASES += SEQUENCE_CASES
TARGETS = {"matmul 1024": 1.5, "matmul 2048": 1.3,
           "softmax/log-softmax/layer-norm/cross-entropy 2048x1024": 1.5,
           "attention 8x128x64 fwd+bwd": 1.5, "conv2d 3x3 64->64 128x128": 1.5,
           "esrgan-slim x2 256x256": 1.3,
           "elementwise relu(x*w+b)*s 1M": 2.0, "train step small CNN (Adam)": 1.0,
           "cold esrgan-slim x2 128x128": 1.0, **SEQUENCE_TARGETS}

# Group "models": one training step of each published program of tests/programs/ (see its
# __init__.py, copied into web/vendor/programs by set-up), webdl on WebGL against webdl's numpy
# backend in the same page (`--only models`)
MODEL_PROGRAMS = ["mnist", "resnet20", "vae", "dcgan", "makemore_transformer", "makemore_mlp",
                  "makemore_gru", "nanogpt"]
MODEL_CASES = [{"id": f"model {n}", "group": "models", "vs": "cpu", "reps": 3,
                "args": {"name": n}} for n in MODEL_PROGRAMS]
# the programs whose training step is a function of tensors (tests/programs: ``train``), with
# that step run through webdl.compile (recorded once, then replayed)
COMPILED_PROGRAMS = ["resnet20", "makemore_transformer", "makemore_mlp", "makemore_gru",
                     "nanogpt"]
MODEL_CASES += [{"id": f"model {n} compiled", "group": "models", "vs": "cpu", "reps": 3,
                 "args": {"name": n, "compiled": True}} for n in COMPILED_PROGRAMS]
MODEL_TARGET = 1.0
# everything `bench` runs by default, also on a GPU host (tools/gpukit runs this list)
ALL_CASES = BENCH_CASES + MODEL_CASES

# Group "webgpu": webdl's WebGPU backend against its WebGL backend on the same
# case in the same page (`--only webgpu`); ratio = webgl / webgpu (> 1: WebGPU faster)
WEBGPU_CASES = [
    {"id": "webgpu matmul 1024", "group": "webgpu", "device": "webgpu", "vs": "webgl",
     "kind": "matmul", "args": {"n": 1024}, "reps": 3},
    {"id": "webgpu elementwise 1M", "group": "webgpu", "device": "webgpu", "vs": "webgl",
     "kind": "elementwise", "args": {}, "reps": 5},
    {"id": "webgpu train step small CNN", "group": "webgpu", "device": "webgpu", "vs": "webgl",
     "kind": "train", "args": {}, "reps": 5},
]


def _cell(s):
    return f"{s['median']:.1f} [{s['min']:.0f}-{s['max']:.0f}]"


def _print_models(rows):
    dev = rows[0].get("device", "webgl")
    print(f"\nmodels: one training step on {dev} against webdl's numpy backend in the same page; "
          f"medians in ms [min-max], ratio = cpu / {dev} (> 1: the GPU faster)")
    print(f"{'model':34} {dev + ' ms':>22} {'cpu ms':>22} {'ratio':>7} {'draws':>6} {'target':>7}")
    for r in rows:
        print(f"{r['id']:34} {_cell(r['webdl']):>22} {_cell(r['cpu']):>22} {r['ratio']:7.2f} "
              f"{r['draws']:6d} {'>=' + str(MODEL_TARGET):>7}")


def _print_webgpu(rows):
    print("\nwebgpu: webdl's WebGPU backend against its WebGL backend in the same page; medians "
          "in ms [min-max], ratio = webgl / webgpu (> 1: WebGPU faster)")
    print(f"{'case':34} {'webgpu ms':>22} {'webgl ms':>22} {'ratio':>7} {'dispatches':>10}")
    for r in rows:
        print(f"{r['id']:34} {_cell(r['webdl']):>22} {_cell(r['webgl']):>22} {r['ratio']:7.2f} "
              f"{r['draws']:10d}")


def _selected(c, only):
    return not only or any(o == c.get("group") or o in c["id"] for o in only)


def bench(args):
    from .browser import Browser
    cases = [c for c in ALL_CASES + WEBGPU_CASES if _selected(c, args.only)]
    page = _page("bench.html", args.device)
    sep = "&" if "?" in page else "?"
    with Browser(page, gpu=args.gpu, notice=_notice) as b:
        out = b.page.evaluate("cfg => bench.run(cfg)", {"cases": cases, "reps": args.reps})
        if not args.only or any("cold" in o for o in args.only):
            cold = {}
            for which in ("tfjs", "webdl"):   # each in a fresh page
                page = b.new_page(f"{_page('bench.html', args.device)}{sep}cold={which}")
                cold[which] = page.evaluate("w => bench.cold(w)", which)
                page.close()
            out["results"].append({
                "id": "cold esrgan-slim x2 128x128",
                "webdl": {"median": cold["webdl"], "min": cold["webdl"], "max": cold["webdl"],
                          "n": 1},
                "tfjs": {"median": cold["tfjs"], "min": cold["tfjs"], "max": cold["tfjs"], "n": 1},
                "ratio": cold["tfjs"] / cold["webdl"]})
    models = [r for r in out["results"] if r.get("group") == "models"]
    webgpu = [r for r in out["results"] if r.get("group") == "webgpu"]
    out["results"] = [r for r in out["results"] if r.get("group") not in ("models", "webgpu")]
    for r in out["results"]:
        r["target"] = TARGETS.get(r["id"])
    for r in models:
        r["target"] = MODEL_TARGET
    out["models"] = models
    out["webgpu"] = webgpu
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"webdl ({out['device']}) vs TensorFlow.js {out['tfjs']['version']} "
          f"({out['tfjs']['backend']}) on {out['renderer']} (ANGLE backend: {b.gpu}); "
          "medians in ms [min-max], "
          "ratio = tfjs / webdl (> 1: webdl faster)")
    print(f"{'case':34} {'webdl ms':>22} {'tfjs ms':>22} {'ratio':>7} {'target':>7}")
    for r in out["results"]:
        w, t = r["webdl"], r["tfjs"]
        tgt = f">={r['target']}" if r["target"] else ""
        print(f"{r['id']:34} {_cell(w):>22} {_cell(t):>22} {r['ratio']:7.2f} {tgt:>7}")
    print(f"cost per small op (a chain of adds on 4 elements): webdl {out['overheadUs']:.1f}"
          f" us, TensorFlow.js {out['tfjsOverheadUs']:.1f} us")
    _print_profiles(out["results"])
    _print_kernels(out.get("kernels") or {})
    if models:
        _print_models(models)
    if webgpu:
        _print_webgpu(webgpu)
    return 0


def _print_kernels(kernels):
    """Which kernel variants each GPU device chose, by shape class, and the times measured."""
    for device, rep in kernels.items():
        print(f"kernel choice on {device} ({rep['mode']}"
              + (f", forced {rep['forced']}" if rep["forced"] else "") + "):"
              + ("" if rep["chosen"] else " the built-in choices"))
        for cls, v in sorted(rep["chosen"].items()):
            times = rep["measured"].get(cls)
            print(f"  {cls:28} {v:8}" + (" " + ", ".join(f"{k} {t:.3f} ms" for k, t in
                                                         times.items()) if times else ""))


def _print_profiles(results):
    """The per-op overhead of the webdl side of the cases that report it (one iteration)."""
    rows = [r for r in results if r.get("profile")]
    if not rows:
        return
    print("\nwebdl per iteration (host: until the result is read back; Python + bridge calls)")
    print(f"{'case':34} {'ops':>7} {'draws':>7} {'host us/op':>11} {'host ms':>9} {'total ms':>9}")
    for r in rows:
        ops, draws, us, host, total = r["profile"][:5]
        print(f"{r['id']:34} {ops:7d} {draws:7d} {us:11.1f} {host:9.1f} {total:9.1f}")


GPU_ARG = dict(default="auto", choices=GPU_CHOICES,
               help="the browser's GPU path: auto (default: a hardware ANGLE backend, Vulkan "
                    "then GL, confirmed by its renderer, else SwiftShader with a notice), "
                    "vulkan, gl or swiftshader")


def main(argv=None):
    # the checkout's models (installed by set-up) unless $WEBDL_MODELS names others
    os.environ.setdefault("WEBDL_MODELS", os.path.join(ROOT, "node_modules", "@upscalerjs"))
    ap = argparse.ArgumentParser(prog="python -m webdl_tools")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve the notebook and apps")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.set_defaults(fn=serve)
    u = sub.add_parser("upscale", help="upscale an image with an ESRGAN model")
    u.add_argument("input", help="a PNG, JPEG or WebP image")
    u.add_argument("output", help="where to write the PNG result")
    u.add_argument("--model", default="esrgan-slim",
                   help="esrgan-slim (default), esrgan-medium or esrgan-thick")
    u.add_argument("--scale", type=int, default=2, help="2 (default), 3, 4 or 8")
    u.add_argument("--backend", default="browser", choices=["browser", "webgpu", "webgl", "numpy"],
                   help="browser: headless Chromium on the GPU, WebGPU where it has a hardware "
                   "adapter, else WebGL2 (default); webgpu, webgl: that one; numpy: CPython")
    u.add_argument("--tile", type=int, default=128, help="tile size in input pixels")
    u.add_argument("--gpu", **GPU_ARG)
    u.set_defaults(fn=upscale)
    bp = sub.add_parser("bench", help="webdl's WebGL backend against TensorFlow.js's, one page")
    bp.add_argument("--json", action="store_true", help="print one JSON object")
    bp.add_argument("--reps", type=int, default=5, help="timed repetitions per case")
    bp.add_argument("--only", nargs="*", help="run only cases whose name contains one of these, "
                    "or the cases of a group (models: training steps, WebGL against numpy)")
    bp.add_argument("--gpu", **GPU_ARG)
    bp.add_argument("--device", default="auto", choices=["auto", "webgpu", "webgl"],
                    help="webdl's device (auto: the page's choice, WebGPU on a hardware adapter, "
                    "else WebGL); TensorFlow.js runs on the same kind of backend")
    bp.set_defaults(fn=bench)
    sk = sub.add_parser("soak", help="train the notebook's CNN example for N minutes; check "
                        "that memory stays flat and speed steady (make soak)")
    sk.add_argument("--minutes", type=int, default=30, help="how long (default 30)")
    sk.add_argument("--out", default=soak.DEFAULT_OUT, help="folder for soak.csv and soak.json")
    sk.add_argument("--gpu", **GPU_ARG)
    sk.set_defaults(fn=soak.main)
    args = ap.parse_args(argv)
    return args.fn(args)
