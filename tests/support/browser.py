"""A real Chromium for the tests, driven by Playwright: one way to launch it, used by every test
that loads a page (the frontends' tests, the full-stack and container runs).

Without Chromium the calling test is not run, and the session says so and fails
(``tests/support/requirements.py``), unless ``DAILYML_TEST_SKIP_BROWSER=1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support import requirements
from tests.support.waiting import TIMEOUT_SCALE

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1400, "height": 1000}
# How long a page may take to show what a test waits for: sized for a loaded 2-core machine (a
# Streamlit rerun behind three services under stress-ng took over 20 s), scaled like every other
# deadline by DAILYML_TEST_TIMEOUT_SCALE. Pages opened here use it as Playwright's default.
PAGE_TIMEOUT_MS = int(60_000 * TIMEOUT_SCALE)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium, closed when the block ends; the test is not run without one."""
    requirements.require("browser", CHROMIUM.exists(), f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(width: int = VIEWPORT["width"], height: int = VIEWPORT["height"]) -> Iterator[Page]:
    """A page of a fresh Chromium (see :func:`chromium`) with a ``width`` x ``height`` viewport."""
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        yield page
