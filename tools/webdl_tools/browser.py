"""Drive webdl's browser runtime from CPython: headless Chromium with real WebGL (a
hardware ANGLE backend when asked for and present, else SwiftShader), the app served on 127.0.0.1, a page whose worker runs
Pyodide. Used by the CLI (`upscale`, `bench`) and the browser tests. Needs Playwright."""
import json
import os
import shutil
import tempfile
import threading

from .server import make_server

FLAGS = ["--headless=new", "--no-sandbox", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage",
         # WebGPU on Linux (the webgpu device; without a GPU it gives SwiftShader's fallback
         # adapter). WebGL is unaffected (tests/test_browser.py runs with it).
         "--enable-unsafe-webgpu"]
# ANGLE backends (flags measured on an NVIDIA H100 host without a display: tools/gpukit).
# Left to its default, headless Chromium silently renders with SwiftShader, so a hardware
# backend is asked for by name and confirmed by the renderer string.
GPU_FLAGS = {
    "vulkan": ["--use-angle=vulkan", "--enable-features=Vulkan", "--disable-vulkan-surface",
               "--ignore-gpu-blocklist"],
    "gl": ["--use-gl=angle", "--use-angle=gl-egl", "--ignore-gpu-blocklist"],
    "swiftshader": ["--use-angle=swiftshader", "--enable-unsafe-swiftshader"],
}
GPU_CHOICES = ("auto", "vulkan", "gl", "swiftshader")
SOFTWARE_RENDERERS = ("swiftshader", "llvmpipe", "softpipe", "software", "microsoft basic")

# the renderer of a WebGL2 context in a worker-like OffscreenCanvas, and float targets
_PROBE_JS = """() => {
  const gl = new OffscreenCanvas(1, 1).getContext("webgl2");
  if (!gl) return { error: "no WebGL2 context" };
  const dbg = gl.getExtension("WEBGL_debug_renderer_info");
  return { renderer: dbg ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER),
           float: !!gl.getExtension("EXT_color_buffer_float") };
}"""


def is_software(renderer):
    return any(s in (renderer or "").lower() for s in SOFTWARE_RENDERERS)


def probe_gpu(pw, exe, backend):
    """{renderer, float} or {error} of a WebGL2 context in Chromium started with ``backend``'s
    flags (a separate short-lived browser: ANGLE's backend is fixed per browser process)."""
    try:
        b = pw.chromium.launch(executable_path=exe, headless=True,
                               args=FLAGS + GPU_FLAGS[backend])
    except Exception as e:  # noqa: BLE001 - Playwright's launch error, one line
        return {"error": str(e).strip().splitlines()[0]}
    try:
        return b.new_page().evaluate(_PROBE_JS)
    except Exception as e:  # noqa: BLE001
        return {"error": str(e).strip().splitlines()[0]}
    finally:
        b.close()


def choose_gpu(pw, exe, want="auto", notice=print):
    """The ANGLE backend to run on: ``want`` itself when it is 'swiftshader' or gives a
    hardware renderer with float render targets; for 'auto' the first of vulkan, gl that
    does, else SwiftShader with a one-line notice. A named hardware backend that falls back
    to software is an error (it would silently be slow)."""
    if want not in GPU_CHOICES:
        raise ValueError(f"--gpu {want}: expected one of {', '.join(GPU_CHOICES)}")
    if want == "swiftshader":
        return want
    tried = []
    for backend in (("vulkan", "gl") if want == "auto" else (want,)):
        info = probe_gpu(pw, exe, backend)
        r = info.get("renderer")
        if r and not is_software(r) and info.get("float"):
            return backend
        tried.append(f"{backend}: " + (info.get("error") or (
            f"software renderer ({r})" if is_software(r) else f"{r} lacks float render targets")))
    if want != "auto":
        raise RuntimeError(f"--gpu {want}: no hardware WebGL2 this way ({tried[0]})")
    notice("webdl: no hardware WebGL2 found (" + "; ".join(tried) +
           "): running on SwiftShader, the software renderer")
    return "swiftshader"


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

    def __init__(self, path="", gpu="swiftshader", notice=print):
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
        try:
            self.gpu = choose_gpu(self.pw, exe, gpu, notice)
        except Exception:
            self.pw.stop()
            self.server.shutdown()
            raise
        self.ctx = self.pw.chromium.launch_persistent_context(
            self.profile, executable_path=exe, headless=True, args=FLAGS + GPU_FLAGS[self.gpu],
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

    def put_file(self, path, text, page=None):
        self.check(f"open({path!r}, 'w').write({text!r}); None", page)

    def add_modules(self, folder, names, page=None):
        """Copy the modules ``names`` of local ``folder`` into /tmp/tests of the page's
        Pyodide (the shared page by default), importable from there."""
        self.check("import os, sys; os.makedirs('/tmp/tests', exist_ok=True); "
                   "sys.path.insert(0, '/tmp/tests'); None", page)
        for name in names:
            with open(os.path.join(folder, name)) as f:
                self.put_file(f"/tmp/tests/{name}", f.read(), page)

    def close(self):
        self.ctx.close()
        self.pw.stop()
        self.server.shutdown()
        shutil.rmtree(self.profile, ignore_errors=True)
