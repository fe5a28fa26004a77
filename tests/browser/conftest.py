"""Browser fixtures: Python Playwright driving Debian's Chromium (never a downloaded browser).

Screenshots go to ``tests/browser/artifacts/`` (ignored by git), one PNG per state a user sees.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """``screenshot("widget-member")`` saves the page as an artefact and returns its path."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str, target=None) -> Path:
        path = ARTIFACTS / f"{name}.png"
        (target or page).screenshot(path=str(path), full_page=target is None)
        return path
    return take
