"""The browser tests' helper: a missing browser skips them, or fails them when CI requires a browser."""

from pathlib import Path

import pytest

from tests.web import browser


def test_a_missing_chromium_skips_by_default(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("EOLABEL_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        browser.browser_required_or_skip()


def test_a_missing_chromium_fails_when_a_browser_is_required(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("EOLABEL_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="EOLABEL_REQUIRE_BROWSER=1 but .*chromium"):
        browser.browser_required_or_skip()


def test_screenshots_reach_docs_only_when_asked(monkeypatch, tmp_path: Path):
    class FakePage:
        def wait_for_load_state(self, state: str) -> None:
            pass

        def screenshot(self, *, path: str) -> None:
            from PIL import Image

            Image.new("RGB", (1280, 800), "white").save(path)

    docs = tmp_path / "docs"
    monkeypatch.setattr(browser, "DOCS_SCREENSHOTS", docs)
    monkeypatch.delenv("EOLABEL_SCREENSHOTS", raising=False)
    taken = browser.screenshot(FakePage(), "x.png", folder=tmp_path / "shots")
    assert taken.is_file() and not (docs / "x.png").exists()
    monkeypatch.setenv("EOLABEL_SCREENSHOTS", "1")
    browser.screenshot(FakePage(), "x.png", folder=tmp_path / "shots")
    assert (docs / "x.png").read_bytes() == taken.read_bytes()
