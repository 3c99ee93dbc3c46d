"""``python -m webdl``: ``serve`` the web app, ``upscale`` images. CPython only."""
import argparse
import base64
import functools
import http.server
import json
import os
import sys
import time

WEB_ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "web")

# Cross-origin isolation (SharedArrayBuffer for interrupting Python) and a CSP that allows
# only the page's own origin and what WebAssembly needs.
HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; "
                               "worker-src 'self' blob:; connect-src 'self'; img-src 'self' "
                               "data: blob:; style-src 'self' 'unsafe-inline'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript",
                      ".js": "text/javascript", ".json": "application/json",
                      ".whl": "application/octet-stream", ".zip": "application/zip"}

    def end_headers(self):
        for k, v in HEADERS.items():
            self.send_header(k, v)
        super().end_headers()

    def log_message(self, fmt, *args):
        if os.environ.get("WEBDL_SERVE_LOG"):
            super().log_message(fmt, *args)


def make_server(host="127.0.0.1", port=8000, root=WEB_ROOT):
    handler = functools.partial(Handler, directory=root)
    return http.server.ThreadingHTTPServer((host, port), handler)


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
  const code = "import webdl.superres, webdl.display, base64\\n" +
    "up = webdl.superres.load(" + JSON.stringify(model) + ", " + scale + ")\\n" +
    "import numpy as np\\n" +
    "img = np.frombuffer(inputs['rgba'], np.uint8).reshape(" + height + ", " + width + ", 4)\\n" +
    "out = up(img, tile=webdl.superres.auto_tile(up, " + tile + "), progress=lambda d, t, s: " +
    "webdl.display._emit('progress', {'done': d, 'total': t, 'elapsed': s}))\\n" +
    "base64.b64encode(webdl.display._png(out)).decode()";
  const r = await webdl.runPython(code, { rgba, width, height });
  off();
  return r;
}
"""


def _upscale_webgl(img, model, scale, tile):
    import numpy as np
    from .browser import Browser
    h, w, _ = img.shape
    rgba = np.concatenate([img, np.full((h, w, 1), 255, np.uint8)], axis=2)
    with Browser("runtime.html") as b:
        print(f"webdl: {b.info['backend']} on {b.info['renderer']}", file=sys.stderr)
        if b.info["backend"] != "webgl":
            raise RuntimeError("the browser has no usable WebGL2: " +
                               str(b.info.get("gpu", {}).get("error")))
        b.page.on("console", lambda m: m.text.startswith("webdl-progress ") and _progress(
            **json.loads(m.text[len("webdl-progress "):])))
        r = b.page.evaluate(_PAGE_UPSCALE, [base64.b64encode(rgba.tobytes()).decode(), w, h,
                                            model, scale, tile])
    if not r["ok"]:
        raise RuntimeError(r["error"].strip().splitlines()[-1])
    import ast
    return base64.b64decode(ast.literal_eval(r["result"]))


def upscale(args):
    from . import superres
    from .display import _png
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
            png = _upscale_webgl(img, args.model, args.scale, args.tile)
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


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m webdl")
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
    u.add_argument("--backend", default="webgl", choices=["webgl", "numpy"],
                   help="webgl: headless Chromium on the GPU (default); numpy: CPython")
    u.add_argument("--tile", type=int, default=128, help="tile size in input pixels")
    u.set_defaults(fn=upscale)
    args = ap.parse_args(argv)
    return args.fn(args)
