"""Debian's chromium through Playwright, for every browser test.

Without chromium or Playwright the tests are skipped, unless EOLABEL_REQUIRE_BROWSER=1 (CI sets it): then they
fail, so a CI machine that lost its browser cannot pass by skipping. Screenshots are always taken into a
temporary folder and checked; EOLABEL_SCREENSHOTS=1 also copies them into docs/screenshots/ for the README."""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return "Debian's chromium is not installed at /usr/bin/chromium (`make browser`)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def browser_required_or_skip() -> None:
    """Skip the calling test when there is no browser; fail it instead under EOLABEL_REQUIRE_BROWSER=1."""
    why = browser_missing()
    if why is None:
        return
    if _flag("EOLABEL_REQUIRE_BROWSER"):
        pytest.fail(f"EOLABEL_REQUIRE_BROWSER=1 but {why}", pytrace=False)
    pytest.skip(why)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless chromium browser (Playwright), skipped or failed as ``browser_required_or_skip`` says."""
    browser_required_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Any, name: str, *, folder: Path, max_bytes: int = 300_000) -> Path:
    """Take a 1280 x 800 screenshot into ``folder``, check it, and copy it into docs/screenshots/ when
    EOLABEL_SCREENSHOTS=1. The path taken."""
    page.wait_for_load_state("networkidle")
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    assert Image.open(path).size == (1280, 800)
    assert path.stat().st_size < max_bytes
    if _flag("EOLABEL_SCREENSHOTS"):
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / name)
    return path
