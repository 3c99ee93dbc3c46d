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
