"""The report in a real headless browser: a screenshot (``w2s report --screenshot``) and the page for tests.

Drives the system's Chromium (Debian's ``chromium`` package, or ``W2S_CHROMIUM``) through Playwright,
with no browser download and no network: the page is opened from its file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# Quiet, offline Chromium: no sandbox (root in containers), no GPU, none of its background connections.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
READY = "body[data-ready='1']"


def find_chromium() -> str:
    """The Chromium to drive: ``W2S_CHROMIUM`` or the first of chromium / chromium-browser / google-chrome on PATH."""
    chosen = os.environ.get("W2S_CHROMIUM") or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if not chosen or not Path(chosen).exists():
        raise FileNotFoundError("no Chromium found: install Debian's chromium package (`make browser`) "
                                "or point W2S_CHROMIUM at a Chromium or Chrome binary")
    return chosen


@contextmanager
def opened_report(path: Path, *, width: int = 1400, height: int = 900) -> Iterator[tuple[Any, list[str]]]:
    """The report at ``path`` loaded in headless Chromium, ready; yields (page, console errors and page errors)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ImportError("screenshots need the playwright package: pip install -e '.[report]'") from None
    errors: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            page.goto(Path(path).resolve().as_uri())
            page.wait_for_selector(READY, timeout=60_000)
            yield page, errors
        finally:
            browser.close()


def screenshot(report: Path, png: Path, *, open_first: bool = True, full_page: bool = True) -> Path:
    """Save a PNG of the report (with its first transcript opened when ``open_first``); returns ``png``."""
    with opened_report(report) as (page, errors):
        if open_first and page.locator("#transcript-list details").count():
            page.locator("#transcript-list details summary").first.click()
            page.wait_for_selector("#transcript-list .turn, #transcript-list .body", timeout=30_000)
        Path(png).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(png), full_page=full_page)
    if errors:
        raise RuntimeError(f"the report logged errors in the browser: {errors[:3]}")
    return Path(png)
