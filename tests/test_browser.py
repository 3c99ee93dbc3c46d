"""The browser runtime in real headless Chromium: the conformance suite on the WebGL backend
against the numpy reference, training on the GPU, texture lifetime and the JS entry point."""
import json
import math
import os

import pytest

import opinfo

HERE = os.path.dirname(os.path.abspath(__file__))
RTOL = ATOL = 1e-4   # WebGL (float32 on the GPU) against the numpy reference


@pytest.fixture(scope="session")
def in_pyodide(browser):
    """Copy the pure-numpy test modules into Pyodide's file system."""
    browser.check("import os; os.makedirs('/tmp/tests', exist_ok=True); None")
    for name in ("opinfo.py", "models.py"):
        browser.put_file(f"/tmp/tests/{name}", open(os.path.join(HERE, name)).read())
    browser.check("import sys; sys.path.insert(0, '/tmp/tests'); None")
    return browser


@pytest.fixture(scope="session")
def webgl_results(in_pyodide):
    code = f"""
import json, math, traceback
import opinfo, webdl
res = {{}}
for case in opinfo.CASES:
    try:
        got = opinfo.run(case, opinfo.Lib(webdl, 'webgl'))
        ref = opinfo.run(case, opinfo.Lib(webdl, 'cpu'))
        worst, wabs, msgs = opinfo.compare(case, got, ref, rtol={RTOL}, atol={ATOL})
        res[case.name] = [worst if math.isfinite(worst) else 1e30, wabs, msgs]
    except Exception as e:
        res[case.name] = [1e30, 1e30, [traceback.format_exc()]]
json.dumps(res)
"""
    return in_pyodide.check(code)


def test_runtime_is_up(browser):
    info = browser.info
    assert info["backend"] == "webgl", info
    assert info["gpu"]["floatRender"] and info["gpu"]["floatExact"]
    assert info["versions"]["pyodide"] == "0.27.7" and info["versions"]["python"].startswith("3.12")
    assert browser.check("import webdl; json_v = str(webdl.get_default_device()); "
                         "import json; json.dumps(json_v)") == "webgl"


@pytest.mark.parametrize("case", opinfo.CASES, ids=str)
def test_conformance_webgl(case, webgl_results):
    worst, wabs, msgs = webgl_results[case.name]
    assert worst <= 1, f"{case.name} on webgl: " + "\n".join(msgs)


def test_report_webgl_worst(webgl_results, capsys):
    worst = max(webgl_results.items(), key=lambda kv: kv[1][1] if kv[1][1] < 1e29 else -1)
    ok = sum(1 for v in webgl_results.values() if v[0] <= 1)
    with capsys.disabled():
        print(f"\nwebgl conformance: {ok}/{len(webgl_results)} cases pass; largest absolute "
              f"error against the numpy reference {worst[1][1]:.3g} ({worst[0]})")
