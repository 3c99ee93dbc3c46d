"""Super-resolution on the numpy backend: the TensorFlow.js importer against UpscalerJS's
own sample outputs, exact tiling, and clear errors for broken model files."""
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

import webdl
from webdl.apps import superres
from webdl.tfjs import ModelFormatError, load_layers_model

ROOT = superres.default_root()
SAMPLES = [(m, s) for m in superres.MODELS for s in superres.MODELS[m][1]
           if os.path.exists(os.path.join(ROOT, m, "assets", "samples", f"{s}x", "result.png"))]


def fixture_image(model="esrgan-slim"):
    return np.asarray(Image.open(os.path.join(ROOT, model, "assets", "fixture.png")).convert("RGB"))


def sample(model, scale):
    path = os.path.join(ROOT, model, "assets", "samples", f"{scale}x", "result.png")
    return np.asarray(Image.open(path).convert("RGB"))


def lsb_stats(out, ref):
    d = np.abs(out.astype(int) - ref.astype(int))
    return float((d == 0).mean()), float((d <= 1).mean()), int(d.max())


def test_every_packaged_model_has_a_sample_to_check():
    assert len(SAMPLES) == 10      # slim 2/3/4, medium 2/3/4, thick 2/3/4/8


@pytest.mark.parametrize("model,scale", SAMPLES, ids=[f"{m}-x{s}" for m, s in SAMPLES])
def test_matches_upscalerjs_sample(model, scale, capsys):
    up = superres.load(model, scale)
    out = up(fixture_image(model), tile=None)
    ref = sample(model, scale)
    assert out.shape == ref.shape
    exact, within1, dmax = lsb_stats(out, ref)
    with capsys.disabled():
        print(f"\n  numpy {model} x{scale}: exact {exact:.4%}, within 1 LSB {within1:.4%}, "
              f"max {dmax}")
    assert within1 >= 0.999


def test_x8_models_without_samples_still_run():
    for model in ("esrgan-slim", "esrgan-medium"):
        up = superres.load(model, 8)
        out = up(fixture_image()[:24, :20])
        assert out.shape == (192, 160, 3) and out.std() > 5


def test_tiled_equals_whole_image():
    img = fixture_image()[:100, :90]
    up = superres.load("esrgan-slim", 2)
    whole = up(img, tile=None)
    calls = []
    tiled = up(img, tile=32, progress=lambda d, t, s: calls.append((d, t)))
    assert calls[-1] == (12, 12)                 # 4 x 3 tiles
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1


def test_bad_requests():
    with pytest.raises(superres.UpscaleError, match="esrgan-slim has no x5 model"):
        superres.load("esrgan-slim", 5)
    with pytest.raises(superres.UpscaleError, match="unknown model 'esrgan-huge'"):
        superres.load("esrgan-huge", 2)
    up = superres.load("esrgan-slim", 2)
    with pytest.raises(superres.UpscaleError, match="too large"):
        up(np.zeros((3000, 3000, 3), np.uint8))
    with pytest.raises(superres.UpscaleError, match="HxWx3 uint8"):
        up(np.zeros((10, 10), np.float32))


@pytest.fixture
def slim_copy(tmp_path):
    src = os.path.join(ROOT, "esrgan-slim", "models", "x2")
    dst = tmp_path / "x2"
    shutil.copytree(src, dst)
    return dst


def _edit(path, fn):
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


def test_importer_errors(slim_copy):
    mj = slim_copy / "model.json"
    shard = slim_copy / "group1-shard1of1.bin"
    good = load_layers_model(str(mj))
    assert isinstance(good, webdl.nn.Module) and good.receptive_radius() == 10

    raw = shard.read_bytes()
    shard.write_bytes(raw[:-1000])
    with pytest.raises(ModelFormatError, match="hold 887300 bytes: a truncated"):
        load_layers_model(str(mj))
    shard.unlink()
    with pytest.raises(ModelFormatError, match="weight shard 'group1-shard1of1.bin' is missing"):
        load_layers_model(str(mj))
    shard.write_bytes(raw)

    orig = mj.read_text()
    _edit(mj, lambda d: d["modelTopology"]["model_config"]["config"]["layers"][3].update(
        class_name="LSTM"))
    with pytest.raises(ModelFormatError, match=r"layer 'F_1_1' \(LSTM\): unsupported "
                                               r"layer type 'LSTM'"):
        load_layers_model(str(mj))
    mj.write_text(orig)
    _edit(mj, lambda d: d["weightsManifest"][0]["weights"][0].update(shape=[3, 3, 64, 65]))
    with pytest.raises(ModelFormatError, match="a weight whose size does not match"):
        load_layers_model(str(mj))
    mj.write_text(orig)
    _edit(mj, lambda d: d["weightsManifest"][0]["weights"][0].update(shape=[3, 3, 32, 128]))
    with pytest.raises(ModelFormatError, match=r"layer 'F_0' \(Conv2D\): kernel has 128 "
                                               r"filters, config says 64"):
        load_layers_model(str(mj))
    mj.write_text("{ this is not json")
    with pytest.raises(ModelFormatError, match="not valid JSON"):
        load_layers_model(str(mj))
    mj.write_text(json.dumps({"format": "graph-model"}))
    with pytest.raises(ModelFormatError, match="not a TensorFlow.js layers-model"):
        load_layers_model(str(mj))
    mj.write_text(json.dumps({"format": "layers-model", "modelTopology": {}}))
    with pytest.raises(ModelFormatError, match="malformed model.json"):
        load_layers_model(str(mj))
    with pytest.raises(ModelFormatError, match="cannot read model file"):
        load_layers_model(str(slim_copy / "nope.json"))
