"""The CLI's GPU choice (`--gpu auto|vulkan|gl|swiftshader`): each hardware ANGLE backend is
probed in a real headless Chromium and accepted only when its renderer is hardware with float
render targets; `auto` falls back to SwiftShader with one notice. This machine may or may not
have a GPU: the expectations follow what the probe really saw."""
import pytest

from webdl_tools.browser import GPU_FLAGS, choose_gpu, find_chromium, is_software, probe_gpu


@pytest.fixture(scope="module")
def pw(browser):
    """The session browser's Playwright (one sync Playwright per thread)."""
    return browser.pw


def test_renderer_classification():
    assert is_software("ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), "
                       "SwiftShader driver)")
    assert is_software("ANGLE (Mesa/X.org, llvmpipe (LLVM 15.0.6 256 bits), OpenGL ES 3.2)")
    assert not is_software("ANGLE (NVIDIA, Vulkan 1.4.312 (NVIDIA NVIDIA H100 80GB HBM3 "
                           "(0x00002330)), NVIDIA)")
    assert set(GPU_FLAGS) == {"vulkan", "gl", "swiftshader"}


def test_swiftshader_is_what_tests_get(pw):
    info = probe_gpu(pw, find_chromium(), "swiftshader")
    assert "SwiftShader" in info["renderer"] and info["float"]
    assert choose_gpu(pw, find_chromium(), "swiftshader", notice=pytest.fail) == "swiftshader"


def test_auto_and_named_backends_follow_the_probe(pw):
    exe = find_chromium()
    hw = {}
    for b in ("vulkan", "gl"):
        info = probe_gpu(pw, exe, b)
        hw[b] = bool(info.get("renderer")) and not is_software(info["renderer"]) and \
            info.get("float")
        if hw[b]:
            assert choose_gpu(pw, exe, b, notice=pytest.fail) == b
        else:
            with pytest.raises(RuntimeError, match=f"--gpu {b}: no hardware WebGL2"):
                choose_gpu(pw, exe, b)
    notices = []
    got = choose_gpu(pw, exe, "auto", notice=notices.append)
    if hw["vulkan"] or hw["gl"]:
        assert got == ("vulkan" if hw["vulkan"] else "gl") and not notices
    else:
        assert got == "swiftshader" and len(notices) == 1
        assert notices[0].startswith("webdl: no hardware WebGL2 found (vulkan: ") and \
            "running on SwiftShader" in notices[0]
    with pytest.raises(ValueError, match="expected one of auto, vulkan, gl, swiftshader"):
        choose_gpu(pw, exe, "metal")
