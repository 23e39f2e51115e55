"""Browser fixtures shared by the --html page tests: Playwright drives the system Chromium.

Skipped (one line) without playwright or Chromium, unless TAL_REQUIRE_BROWSER is set (``.ci/run``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def _unavailable(reason: str) -> None:
    if os.environ.get("TAL_REQUIRE_BROWSER"):
        pytest.fail(f"TAL_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} not found (apt-get install chromium)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture()
def open_page(browser):
    """open_page(path) -> a ready page; afterwards, no request left the file and no script error happened."""
    attempts, errors, contexts = [], [], []

    def route(r) -> None:
        url = r.request.url
        if url.startswith(("file://", "data:")):
            r.continue_()
        else:
            attempts.append(url)
            r.abort()

    def opener(path: Path, width: int = 1400, height: int = 1100):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        context.route("**/*", route)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.as_uri())
        wait_ready(page)
        return page

    yield opener
    for context in contexts:
        context.close()
    assert attempts == [], f"network requests attempted: {attempts}"
    assert errors == [], errors


def wait_ready(page) -> None:
    """Until ``<html data-ready="1">``. A selector, not ``wait_for_function``: polling a predicate
    needs eval, which the page's Content-Security-Policy forbids (as it should)."""
    page.wait_for_selector('html[data-ready="1"]', state="attached", timeout=15000)
