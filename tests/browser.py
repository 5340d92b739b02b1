"""Browser-test support: a live atlas server in a thread and Playwright driving Debian's Chromium."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def require_chromium() -> None:
    """Skip with a visible reason without Chromium, or fail when CI demands browser tests."""
    if CHROMIUM.exists():
        return
    reason = f"browser test needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("ATLAS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"ATLAS_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve an app on a free port of 127.0.0.1 in a background thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def import_worker(app: Flask) -> Iterator[None]:
    """Run the import worker (as `flask import-worker` does) in a background thread."""
    from atlas.importers.jobs import work

    stop = threading.Event()
    thread = threading.Thread(target=work, args=(app,), kwargs={"poll": 0.2, "should_stop": stop.is_set}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


class OfflineGuard:
    """Aborts every request that would leave the machine and remembers it."""

    def __init__(self) -> None:
        self.blocked: list[str] = []

    def __call__(self, route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()


@contextmanager
def browser_page(base_url: str, viewport: dict | None = None) -> Iterator:
    """Yield a Playwright page with console errors and blocked requests recorded on it."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, base_url=base_url,
                                      locale="de-DE")
        guard = OfflineGuard()
        context.route("**/*", guard)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
        page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
        page.blocked_requests = guard.blocked
        try:
            yield page
        finally:
            context.close()
            browser.close()


DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Save a screenshot under test-artifacts/; with ATLAS_UPDATE_SCREENSHOTS=1 also as docs/img/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if os.environ.get("ATLAS_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        (DOCS_IMG / f"{name}.png").write_bytes(path.read_bytes())
    return path


def wait_until(check, seconds: float = 10) -> bool:
    """Poll a condition from Python (page.wait_for_function evaluates strings, which the CSP forbids)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False
