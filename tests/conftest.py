import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def browser():
    """The shared headless Chromium page with webdl's runtime up (see tests/browser.py)."""
    from webdl.browser import Browser
    b = Browser()
    try:
        yield b
    finally:
        b.close()
