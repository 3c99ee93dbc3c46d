"""The HTTP server for the app's static files (web/), with the cross-origin isolation and
Content-Security-Policy headers the pages need."""
import functools
import http.server
import os

from . import ROOT

WEB_ROOT = os.path.join(ROOT, "web")

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

# Pages and workers whose scripts evaluate code: the benchmark page loads TensorFlow.js,
# which evaluates strings; in the worker, `import webdl` evaluates its WebGL bridge (gl.js,
# shipped in the wheel) with Function, as it does in any Pyodide. A dedicated worker takes
# its CSP from its own script's response. The worker runs the user's Python, which reaches
# all of JS through Pyodide's `js` module anyway.
EVAL_ALLOWED = ("/bench.html", "/js/worker.js")
# Other projects' apps we serve as hosts of webdl (Pyodide's console.html, JupyterLite,
# PyScript and our pages for it): they come with their own scripts' needs (inline scripts,
# eval, blob workers), so this site's CSP is not sent for them; the isolation headers are.
HOST_APPS = ("/vendor/pyodide/console.html", "/vendor/lite/", "/vendor/pyscript/", "/hosts/")


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript",
                      ".js": "text/javascript", ".json": "application/json",
                      ".whl": "application/octet-stream", ".zip": "application/zip"}

    def end_headers(self):
        path = self.path.split("?")[0]
        for k, v in HEADERS.items():
            if k == "Content-Security-Policy" and path.startswith(HOST_APPS):
                continue
            if k == "Content-Security-Policy" and path in EVAL_ALLOWED:
                v = v.replace("'wasm-unsafe-eval'", "'wasm-unsafe-eval' 'unsafe-eval'")
            self.send_header(k, v)
        super().end_headers()

    def log_message(self, fmt, *args):
        if os.environ.get("WEBDL_SERVE_LOG"):
            super().log_message(fmt, *args)


def make_server(host="127.0.0.1", port=8000, root=WEB_ROOT):
    handler = functools.partial(Handler, directory=root)
    return http.server.ThreadingHTTPServer((host, port), handler)
