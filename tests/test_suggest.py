"""webdl.suggest_device: times a copy of the model on each device and names the faster one,
leaving the model passed in untouched. On CPython only 'cpu' is available; the browser test
measures both devices in headless Chromium."""
import json

import numpy as np
import pytest

import webdl
import webdl.nn as nn


def _model():
    webdl.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))


def test_cpu_only_here_and_model_untouched(capsys):
    m = _model()
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    r = webdl.suggest_device(m, webdl.randn(4, 8), steps=2)
    assert r.device == "cpu" and set(r.ms) == {"cpu"} and r.ms["cpu"] > 0
    assert "webgl" in r.skipped and "browser" in r.skipped["webgl"]
    assert all(p.grad is None for p in m.parameters())
    for k, v in m.state_dict().items():   # BatchNorm's running stats too
        np.testing.assert_array_equal(v.numpy(), before[k])
    out = capsys.readouterr().out
    assert out.startswith("webdl.suggest_device: per training step: cpu ") and \
        "use device='cpu'" in out


def test_loss_fn_forward_only_and_errors():
    m = _model()
    seen = []
    r = webdl.suggest_device(m, webdl.randn(4, 8), loss_fn=lambda o: seen.append(o.shape) or
                             o.square().mean(), train=False, steps=1, verbose=False)
    assert r.device == "cpu" and seen == [(4, 2), (4, 2)]   # warm-up + one timed step
    assert "forward pass" in str(r)
    with pytest.raises(TypeError, match="example input"):
        webdl.suggest_device(m)
    with pytest.raises(ValueError, match="steps"):
        webdl.suggest_device(m, webdl.randn(4, 8), steps=0)
    with pytest.raises(TypeError, match="loss_fn"):
        webdl.suggest_device(lambda x: "text", webdl.randn(2))


def test_browser_measures_both(browser):
    got = browser.check("""
import json, webdl, webdl.nn as nn
m = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)).to('webgl')
r = webdl.suggest_device(m, webdl.randn(4, 8, device='webgl'), steps=2, verbose=False)
json.dumps([r.device, r.ms, r.skipped, str(m[0].weight.device),
            m[0].weight.grad is None])
""")
    device, ms, skipped, where, untouched = got
    assert set(ms) == {"cpu", "webgl"} and not skipped
    assert device == min(ms, key=ms.get) and all(t > 0 for t in ms.values())
    assert where == "webgl" and untouched
