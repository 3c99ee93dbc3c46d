import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# UpscalerJS's models as set-up installs them, unless $WEBDL_MODELS names others
os.environ.setdefault("WEBDL_MODELS", os.path.join(ROOT, "node_modules", "@upscalerjs"))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def browser():
    """The shared headless Chromium page with webdl's runtime up (tools/webdl_tools/browser.py)."""
    from webdl_tools.browser import Browser
    b = Browser()
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="session")
def in_pyodide(browser):
    """The shared page with the pure-numpy test modules copied into Pyodide's file system."""
    browser.add_modules(os.path.dirname(os.path.abspath(__file__)), ("opinfo.py", "models.py"))
    return browser
