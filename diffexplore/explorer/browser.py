"""Show: a headless Chromium for the explorer page's screenshots and end-to-end tests.

Playwright drives Debian's ``chromium`` (never a downloaded browser): :func:`headless_chromium` starts
it with the flags that keep it off the network, :func:`open_page` loads a page from a ``file://`` URL
and waits until its script is ready, :func:`screenshot` saves a PNG of one step. A missing browser is
:class:`BrowserNotFound`, whose message says how to install it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import DiffexploreError

__all__ = ["BrowserNotFound", "chromium_path", "headless_chromium", "open_page", "screenshot",
           "CHROMIUM_ARGS", "VIEWPORT"]

#: Headless, and nothing that would reach the network on its own.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: The window of screenshots (CSS pixels).
VIEWPORT = {"width": 1600, "height": 1000}
_CANDIDATES = ("chromium", "chromium-browser", "/usr/bin/chromium")


class BrowserNotFound(DiffexploreError, RuntimeError):
    """Headless Chromium (or Playwright, which drives it) is not installed."""


def chromium_path() -> str | None:
    """The Chromium executable: ``$DIFFEXPLORE_CHROMIUM``, else ``chromium`` on PATH, else None.

    >>> path = chromium_path()
    >>> path is None or os.path.exists(path)
    True
    """
    configured = os.environ.get("DIFFEXPLORE_CHROMIUM")
    if configured:
        return configured if os.path.exists(configured) else None
    for candidate in _CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _install_hint() -> str:
    return ("run `make test` (or `make browser`), which installs Debian's chromium package "
            "(`sudo apt-get install chromium`), and `pip install playwright` (in the dev extras); "
            "never `playwright install`: the browser comes from Debian")


@contextmanager
def headless_chromium() -> Iterator[Any]:
    """A Playwright ``Browser`` running Debian's Chromium headless; closed on exit.

    Raises :class:`BrowserNotFound` when Chromium or Playwright is missing.
    """
    executable = chromium_path()
    if executable is None:
        raise BrowserNotFound(f"headless Chromium was not found (looked for {', '.join(_CANDIDATES)} and "
                              f"$DIFFEXPLORE_CHROMIUM): {_install_hint()}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise BrowserNotFound(f"the Python package playwright is not installed: {_install_hint()}") from None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Any, path: str | Path, fragment: str = "", viewport: dict | None = None) -> Any:
    """Load an explorer page from its file (``fragment`` such as ``step=12&seed=1``) and wait until
    its script has drawn the first step. Returns the Playwright ``Page``."""
    page = browser.new_page(viewport=viewport or VIEWPORT)
    url = Path(path).resolve().as_uri() + (f"#{fragment}" if fragment else "")
    page.goto(url)
    page.wait_for_selector("body[data-ready]", timeout=15000)
    return page


def screenshot(path: str | Path, png: str | Path, fragment: str = "", viewport: dict | None = None) -> Path:
    """Save a PNG of the explorer page ``path`` at the state ``fragment`` selects (e.g. ``step=16``)."""
    png = Path(png)
    with headless_chromium() as browser:
        page = open_page(browser, path, fragment, viewport)
        page.screenshot(path=str(png))
    return png
