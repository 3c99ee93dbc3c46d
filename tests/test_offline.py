"""Nothing is requested from anywhere but the app's own server on 127.0.0.1. The shared
browser records every request of the session from its start; this test opens each app page
the session has not opened yet, so it checks them all wherever it runs in the suite."""
PAGES = ("", "upscale.html", "runtime.html")


def opened(browser):
    return {u[len(browser.base):].split("?")[0] for u in browser.requests
            if u.startswith(browser.base)}


def test_no_request_leaves_localhost(browser):
    for path in set(PAGES) - opened(browser):
        page = browser.new_page(path)
        page.evaluate("() => webdl.ready")
        page.close()
    assert len(browser.requests) > 20, "the pages made hardly any requests?"
    outside = [u for u in browser.requests
               if not (u.startswith(browser.base) or u.startswith(("data:", "blob:")))]
    assert outside == []
    assert {*PAGES, "js/worker.js", "vendor/pyodide/pyodide.asm.wasm"} <= opened(browser)
