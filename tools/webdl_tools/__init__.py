"""Host-side tooling for a webdl checkout (not part of the library, not in its wheel): the
HTTP server for web/, the Playwright driver of headless Chromium, and the command line
``python -m webdl_tools serve|upscale|bench|soak``. Set-up puts tools/ on the venv's path."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
