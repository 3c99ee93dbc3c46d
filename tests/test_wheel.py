"""The webdl wheel is one a user could publish and micropip.install into any Pyodide: built
from pyproject.toml by the standard backend (setuptools), pure Python, numpy its only
dependency, the shaders and the JS bridge inside, versioned; installed on CPython it gives
the numpy backend."""
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(out), ROOT], check=True,
                   cwd=str(out))
    (name,) = os.listdir(out)
    return out / name


def test_wheel_contents_and_metadata(wheel):
    import webdl
    assert wheel.name == f"webdl-{webdl.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = z.read(f"webdl-{webdl.__version__}.dist-info/METADATA").decode()
        tags = z.read(f"webdl-{webdl.__version__}.dist-info/WHEEL").decode()
        gl_js = z.read("webdl/_js/gl.js").decode()
    assert "Root-Is-Purelib: true" in tags and "Tag: py3-none-any" in tags
    requires = [l.split(":", 1)[1].strip() for l in meta.splitlines()
                if l.startswith("Requires-Dist:") and "extra ==" not in l]
    assert requires == ["numpy"]
    assert f"Version: {webdl.__version__}" in meta
    shaders = {n[len("webdl/_shaders/"):] for n in names if n.startswith("webdl/_shaders/")}
    src = os.path.join(ROOT, "shaders")
    assert shaders == {f for f in os.listdir(src) if f.endswith(".glsl")} | \
        {"wgsl/" + f for f in os.listdir(os.path.join(src, "wgsl")) if f.endswith(".wgsl")}
    assert gl_js == open(os.path.join(ROOT, "src", "webdl", "_js", "gl.js")).read()
    assert "class GLBridge" in gl_js and gl_js.rstrip().splitlines()[-1].startswith("return GLBridge")
    assert not [n for n in names if n.startswith(("tests/", "tools/", "web/"))]


def test_wheel_on_cpython_gives_the_numpy_backend(wheel, tmp_path):
    """Installed (no source tree on the path), `import webdl` picks cpu silently and computes."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(wheel)], check=True)
    code = ("import webdl\n"
            "assert webdl.__file__.startswith(%r), webdl.__file__\n"
            "x = webdl.tensor([[1., 2.], [3., 4.]])\n"
            "print(webdl.get_default_device(), (x @ x).sum().item())\n" % str(target))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(target)), cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    a = np.array([[1., 2.], [3., 4.]])
    assert r.stdout == f"cpu {(a @ a).sum()}\n"
