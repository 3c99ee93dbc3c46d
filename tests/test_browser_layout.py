"""The small-tensor texture layout (gl.js, common.glsl) in real headless Chromium: the
shared page uses it (small tensors 64 texels wide), and a page of its own with
``?smallwidth=4096`` (small tensors in one row, the layout before it: the switch a GPU A/B
run uses) still computes the kernels that read and write small tensors -- reductions and
their partial sums, softmax and attention, layer_norm, cat, matmul -- as the numpy
reference does."""
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FAMILIES = ("sum", "mean", "amax", "argmax", "var", "std", "softmax", "log_softmax", "sdpa",
            "layer_norm", "layer_norm2", "cat", "matmul")


@pytest.fixture(scope="module")
def wide(browser):
    """A page whose small tensors are one row (4096 wide), with opinfo in its files."""
    page = browser.new_page("runtime.html?smallwidth=4096")
    info = page.evaluate("() => webdl.ready")
    browser.add_modules(HERE, ("opinfo.py",), page)
    yield page, info
    page.close()


def test_small_tensors_are_narrow_by_default(browser):
    assert browser.info["gpu"]["smallWidth"] == 64, browser.info["gpu"]
    # 4096 values (one row's worth, so small) and 4097 (wide), through a reduction's partial
    # sums and a softmax's row statistics
    r = browser.check("""
import json, numpy as np, webdl
rng = np.random.default_rng(3)
out = []
for n in (4096, 4097):
    a = rng.standard_normal((n, 3)).astype(np.float32)
    x = webdl.tensor(a, device='webgl')
    out.append([float(np.abs(x.sum(0).numpy() - a.sum(0)).max()),
                float(np.abs(x.softmax(1).numpy() - webdl.tensor(a).softmax(1).numpy()).max())])
json.dumps(out)
""")
    assert all(e < 1e-3 for row in r for e in row), r


def test_one_row_layout_matches_the_reference(wide, browser):
    page, info = wide
    assert info["gpu"]["smallWidth"] == 4096, info["gpu"]
    res = browser.check(f"""
import json, opinfo, webdl
cases = [c for c in opinfo.CASES if c.name.split('[')[0] in {FAMILIES!r}]
json.dumps(opinfo.run_all(cases, opinfo.Lib(webdl, 'webgl'), opinfo.Lib(webdl, 'cpu'),
                          1e-4, 1e-4))
""", page)
    bad = {name: v[2] for name, v in res.items() if v[0] > 1}
    assert len(res) > 80 and not bad, bad
