"""Runs last (by name), after every page of the app has been used in the shared browser:
nothing was requested from anywhere but the app's own server on 127.0.0.1."""


def test_no_request_leaves_localhost(browser):
    assert len(browser.requests) > 20, "the pages made hardly any requests?"
    outside = [u for u in browser.requests
               if not (u.startswith(browser.base) or u.startswith(("data:", "blob:")))]
    assert outside == []
    pages = {u[len(browser.base):].split("?")[0] for u in browser.requests}
    assert {"", "upscale.html", "runtime.html", "js/worker.js",
            "vendor/pyodide/pyodide.asm.wasm"} <= pages
