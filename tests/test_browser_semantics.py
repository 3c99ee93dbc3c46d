"""The storage-semantics cases (tests/semantics_cases.py) on WebGL in headless Chromium,
against the numpy backend in the same page: views, in-place writes, versions, autograd."""
import os

import pytest

import semantics_cases as sc

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def webgl_semantics(in_pyodide):
    in_pyodide.put_file("/tmp/tests/semantics_cases.py",
                        open(os.path.join(HERE, "semantics_cases.py")).read())
    return in_pyodide.check("""
import json, webdl, semantics_cases as sc
res = {}
try:
    for name, fn in sc.CASES.items():
        webdl.set_default_device('cpu')
        want = sc.outcome(fn, webdl)
        webdl.set_default_device('webgl')
        res[name] = sc.agree(name, sc.outcome(fn, webdl), want, 1e-5)
finally:
    webdl.set_default_device('webgl')
json.dumps(res)
""")


@pytest.mark.parametrize("name", sorted(sc.CASES))
def test_semantics_webgl(name, webgl_semantics):
    assert webgl_semantics[name] is None, webgl_semantics[name]


@pytest.mark.parametrize("dev", ["webgl", "webgpu"])
def test_a_view_written_keeps_its_values_when_the_source_is_freed(in_pyodide, dev):
    """A view written from a tensor (copy_, setitem) re-reads its part of the new base, so
    freeing the source afterwards (``free_``) leaves the view and its base readable; a view
    written from a number takes the number's values; the values are numpy's."""
    r = in_pyodide.check(f"""
import json, numpy as np, webdl
x = webdl.zeros(3, 4, device={dev!r})
v = x[:, 1]
src = webdl.tensor(np.arange(3, dtype=np.float32), device={dev!r})
v.copy_(src)
w = x[0:2, 2]
seven = webdl.tensor([7.0], device={dev!r})
w[:] = seven                                   # broadcast from a one-element tensor
s = x[2, 2:]
s[:] = 9
src.free_()
seven.free_()
want = np.zeros((3, 4), np.float32); want[:, 1] = [0, 1, 2]; want[0:2, 2] = 7; want[2, 2:] = 9
json.dumps([v.numpy().tolist(), w.numpy().tolist(), s.numpy().tolist(),
            bool(np.array_equal(x.numpy(), want))])
""")
    assert r == [[0.0, 1.0, 2.0], [7.0, 7.0], [9.0, 9.0], True], r
