"""Drive webdl's browser runtime from CPython: headless Chromium with real WebGL
(SwiftShader when there is no GPU), the app served on 127.0.0.1, a page whose worker runs
Pyodide. Used by the CLI (`upscale`, `bench`) and the browser tests. Needs Playwright."""
import json
import os
import shutil
import tempfile
import threading

from .server import make_server

FLAGS = ["--headless=new", "--no-sandbox", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-dev-shm-usage"]


def find_chromium():
    """Debian's Chromium, another Chrome on PATH, or Playwright's bundled one."""
    for p in (os.environ.get("WEBDL_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser",
              shutil.which("chromium"), shutil.which("google-chrome")):
        if p and os.path.exists(p):
            return p
    pw = os.path.expanduser("~/.cache/ms-playwright")
    if os.path.isdir(pw):
        for d in sorted(os.listdir(pw), reverse=True):
            p = os.path.join(pw, d, "chrome-linux", "chrome")
            if os.path.exists(p):
                return p
    return None


class Browser:
    """``Browser(path)`` opens the app page ``path`` (default: the notebook at /) and waits
    until webdl's runtime is up; ``run``/``check`` execute Python in its worker."""

    def __init__(self, path=""):
        from playwright.sync_api import sync_playwright
        self.server = make_server(port=0)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.profile = tempfile.mkdtemp(prefix="webdl-chromium-")
        self.pw = sync_playwright().start()
        exe = find_chromium()
        if exe is None:
            raise RuntimeError("no Chromium found: run `make setup` (it installs Debian's) or "
                               "set WEBDL_CHROMIUM")
        self.ctx = self.pw.chromium.launch_persistent_context(
            self.profile, executable_path=exe, headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 900})
        self.requests = []
        self.ctx.on("request", lambda r: self.requests.append(r.url))
        self.page = self.new_page(path)
        self.info = self.page.evaluate("() => webdl.ready")

    def new_page(self, path):
        page = self.ctx.new_page()
        page.set_default_timeout(300_000)
        page.goto(self.base + path)
        return page

    def run(self, code, page=None):
        """Run Python in the page's worker; returns {ok, stdout, stderr, result, error}."""
        return (page or self.page).evaluate("code => webdl.runPython(code)", code)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def check(self, code, page=None):
        """Run Python and return the JSON value of its last expression; raise on error."""
        r = self.run(code, page)
        if not r["ok"]:
            raise AssertionError("Python failed in the browser:\n" + r["error"])
        return json.loads(eval(r["result"])) if r["result"] else None

    def put_file(self, path, text):
        self.check(f"open({path!r}, 'w').write({text!r}); None")

    def close(self):
        self.ctx.close()
        self.pw.stop()
        self.server.shutdown()
        shutil.rmtree(self.profile, ignore_errors=True)
