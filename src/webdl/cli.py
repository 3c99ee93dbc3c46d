"""``python -m webdl``: serve the web app (``serve``). CPython only."""
import argparse
import functools
import http.server
import os
import sys

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


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m webdl")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve the notebook and apps")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.set_defaults(fn=serve)
    args = ap.parse_args(argv)
    return args.fn(args)
