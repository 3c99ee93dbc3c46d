"""Super-resolution in the browser: WebGL accuracy against UpscalerJS's samples, exact
tiling on the GPU, the upscale page driven like a user, and the command line."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from test_superres import SAMPLES, ROOT, fixture_image, sample, lsb_stats

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "test-output")
FIXTURE = os.path.join(ROOT, "esrgan-slim", "assets", "fixture.png")


@pytest.fixture(scope="module")
def sr_page(browser):
    browser.check("""
import webdl_fetch, numpy as np
from PIL import Image
webdl_fetch.toFile('vendor/models/esrgan-slim/assets/fixture.png', '/tmp/fixture.png')
FIXTURE = np.asarray(Image.open('/tmp/fixture.png').convert('RGB'))
None""")
    return browser


@pytest.mark.parametrize("model,scale", SAMPLES, ids=[f"{m}-x{s}" for m, s in SAMPLES])
def test_webgl_matches_upscalerjs_sample(sr_page, model, scale, capsys):
    r = sr_page.check(f"""
import time, json, base64
import webdl.apps.superres as sr
up = sr.load({model!r}, {scale}, device='webgl')
t = time.perf_counter()
out = up(FIXTURE, tile=None)
json.dumps([base64.b64encode(out.tobytes()).decode(), list(out.shape), time.perf_counter() - t])
""")
    out = np.frombuffer(__import__("base64").b64decode(r[0]), np.uint8).reshape(r[1])
    exact, within1, dmax = lsb_stats(out, sample(model, scale))
    with capsys.disabled():
        print(f"\n  webgl {model} x{scale}: exact {exact:.4%}, within 1 LSB {within1:.4%}, "
              f"max {dmax}, {r[2]:.1f} s")
    assert within1 >= 0.999


def test_webgl_tiled_equals_whole(sr_page):
    r = sr_page.check("""
import json, webdl.apps.superres as sr
up = sr.load('esrgan-slim', 2, device='webgl')
img = FIXTURE[:100, :90]
whole = up(img, tile=None)
seen = []
tiled = up(img, tile=32, progress=lambda d, t, s: seen.append(d))
json.dumps([int(abs(whole.astype(int) - tiled.astype(int)).max()), seen[-1]])
""")
    assert r == [0, 12] or (r[0] <= 1 and r[1] == 12)


@pytest.fixture(scope="module")
def upscale_page(browser):
    page = browser.new_page("upscale.html")
    page.wait_for_selector("body[data-ready='1']", timeout=120_000)
    yield page
    page.close()


def test_page_upscales_and_downloads(upscale_page, tmp_path):
    p = upscale_page
    p.set_input_files("#file", FIXTURE)
    p.wait_for_function("() => !document.querySelector('#run').disabled")
    p.select_option("#model", "esrgan-slim")
    p.select_option("#scale", "2")
    p.click("#run")
    p.wait_for_function("() => document.querySelector('#progress-text').textContent"
                        ".startsWith('tile')", timeout=120_000)
    p.wait_for_function("() => !document.querySelector('#download').disabled", timeout=300_000)
    assert p.inner_text("#progress-text").startswith("tile 1 of 1 · ")
    assert p.inner_text("#message").startswith("Done in ")
    with p.expect_download() as dl:
        p.click("#download")
    assert dl.value.suggested_filename == "fixture-esrgan-slim-x2.png"
    path = tmp_path / "out.png"
    dl.value.save_as(path)
    out = np.asarray(Image.open(path).convert("RGB"))
    exact, within1, dmax = lsb_stats(out, sample("esrgan-slim", 2))
    assert within1 >= 0.999
    p.fill("#split", "35")
    p.dispatch_event("#split", "input")
    os.makedirs(OUT, exist_ok=True)
    p.screenshot(path=os.path.join(OUT, "upscale-compare.png"), full_page=True)
    sizes = p.evaluate("() => [...document.querySelectorAll('#frame canvas')].map(c => "
                       "[c.width, c.height, c.getBoundingClientRect().width])")
    assert sizes[0][:2] == sizes[1][:2] == [256, 256]        # before and after, same size
    assert sizes[0][2] == sizes[1][2]


@pytest.mark.parametrize("name,content,expect", [
    ("notes.png", b"this is not an image", "not a PNG, JPEG or WebP image"),
    ("empty.png", b"", "the file is empty"),
])
def test_page_rejects_bad_files_and_keeps_the_image(upscale_page, tmp_path, name, content,
                                                    expect):
    p = upscale_page
    p.set_input_files("#file", FIXTURE)
    p.wait_for_function("() => !document.querySelector('#run').disabled")
    bad = tmp_path / name
    bad.write_bytes(content)
    p.set_input_files("#file", str(bad))
    p.wait_for_function("() => document.querySelector('#message').textContent.length > 0")
    assert p.inner_text("#message") == f"Could not open {name}: {expect}"
    assert p.inner_text("#drop-text") == "fixture.png: 128×128"     # the image stays
    assert not p.is_disabled("#run")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "webdl_tools", "upscale", *args],
                          capture_output=True, text=True, timeout=600)


def test_cli_numpy_backend(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(fixture_image()[:40, :30]).save(src)
    out = tmp_path / "out.png"
    r = cli(str(src), str(out), "--backend", "numpy", "--model", "esrgan-medium", "--scale", "3")
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and " s" in r.stdout
    got = np.asarray(Image.open(out))
    assert got.shape == (120, 90, 3)
    import webdl.apps.superres as sr
    assert np.abs(got.astype(int) -
                  sr.load("esrgan-medium", 3)(fixture_image()[:40, :30]).astype(int)).max() == 0


def test_cli_webgl_backend(tmp_path):
    out = tmp_path / "out.png"
    r = cli(FIXTURE, str(out), "--gpu", "swiftshader")
    assert r.returncode == 0, r.stderr
    assert "tile 1/1" in r.stderr and "webgl on" in r.stderr
    exact, within1, _ = lsb_stats(np.asarray(Image.open(out).convert("RGB")),
                                  sample("esrgan-slim", 2))
    assert within1 >= 0.999


@pytest.mark.parametrize("setup,args,message", [
    ("text", [], "not an image (PNG, JPEG or WebP expected)"),
    ("empty", [], "the file is empty"),
    ("missing", [], "no such file"),
    ("small", ["--scale", "5"], "esrgan-slim has no x5 model (scales: 2, 3, 4, 8)"),
    ("small", ["--model", "esrgan-huge"], "unknown model 'esrgan-huge'"),
    ("huge", ["--backend", "numpy"], "the image is too large: 2100x2100 pixels"),
    ("big", ["--scale", "8", "--backend", "numpy"], "the result would be too large"),
])
def test_cli_bad_input_one_line_no_partial_output(tmp_path, setup, args, message):
    src = tmp_path / "in.png"
    if setup == "text":
        src.write_text("hello")
    elif setup == "empty":
        src.write_bytes(b"")
    elif setup in ("small", "huge", "big"):
        side = {"small": 8, "huge": 2100, "big": 600}[setup]
        Image.fromarray(np.zeros((side, side, 3), np.uint8)).save(src)
    out = tmp_path / "out.png"
    r = cli(str(src), str(out), *args)
    assert r.returncode == 2
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("webdl upscale: error: ") and \
        message in lines[0], r.stderr
    assert not out.exists() and not (tmp_path / "out.png.part").exists()
