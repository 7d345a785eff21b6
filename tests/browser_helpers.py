"""What the real-browser tests share: Debian's chromium driven by Playwright (its own browser
download does not work here), and pages that may reach only the test server and record what
goes wrong in them (console errors, uncaught exceptions, dialogs, blocked requests)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
# Names other than the loopback address do not resolve, so even a request no route catches
# (pages that must keep the HTTP cache, which Playwright's routing turns off) stays here.
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def require_chromium() -> ModuleType:
    """Playwright's sync API; skips the calling test module when Playwright or chromium is missing."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (make test does)", allow_module_level=True)
    return sync_api


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def keep_local(page: Any, base: str, problems: list[str]) -> None:
    """Let `page` reach only `base`; any other request is aborted and noted in `problems`."""

    def route(route):
        if route.request.url.startswith(base):
            route.continue_()
        else:
            problems.append(f"blocked request to {route.request.url}")
            route.abort()

    page.route("**/*", route)


def watched_page(context: Any, base: str, route: bool = True) -> Any:
    """A new page of `context` that may reach only `base`, with `page.problems`: console errors,
    uncaught exceptions and dialogs (dismissed), for the test to assert empty. With route=False
    (Playwright's routing turns the HTTP cache off) other requests are only noted, and fail
    for want of a name resolver (ARGS)."""
    page = context.new_page()
    problems: list[str] = []

    def console(message):
        # The site has no favicon; the browser's own request for one is not the page's business.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            problems.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    if route:
        keep_local(page, base, problems)
    else:
        page.on(
            "request",
            lambda request: (
                None
                if request.url.startswith((base, "data:", "blob:"))
                else problems.append(f"request to {request.url}")
            ),
        )
    page.problems = problems
    return page
