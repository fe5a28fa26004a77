"""The What-if and Import points pages in a real browser (Debian Chromium, Shopify's CDN
stubbed): a richer draft shows the liability going up; a CSV is dry-run, then applied once."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from plugin.models import Customer, LedgerEntry
from tests.browser.admin_server import ServedApp, stub_shopify_cdn
from tests.integration.whatif.test_whatif import DRAFT, seed
from tests.shopify_requests import SHOP


@pytest.fixture
def open_page(page, app):
    seed(app.extensions["embajador"])
    server = ServedApp(app)
    stub_shopify_cdn(page, SHOP)

    def go(section: str, locale: str = "en"):
        page.goto(f"{server.url}/{section}?shop={SHOP}&locale={locale}")
        return page
    yield go
    server.stop()


def test_a_richer_draft_shows_the_liability_change(open_page, screenshot):
    page = open_page("whatif", "es")
    draft = page.locator("#whatif-json")
    expect(draft).not_to_have_value("")
    assert json.loads(draft.input_value())["earn"]["points"] == 1  # starts from the live program
    draft.fill("{ not json")
    page.click("#whatif-run")
    expect(page.locator('[data-error="$"]')).to_contain_text("no es JSON válido")
    draft.fill(json.dumps(dict(DRAFT, earn=dict(DRAFT["earn"], per_amount="0"))))
    page.click("#whatif-run")
    expect(page.locator('[data-error="$"]')).to_contain_text("earn.per_amount")
    draft.fill(json.dumps(DRAFT))
    page.click("#whatif-run")
    expect(page.locator("#whatif-liability-change")).to_have_text("+2.56 USD")
    expect(page.locator('#whatif-summary [data-figure="wi.liability"]')).to_contain_text("1.68")
    expect(page.locator('#whatif-summary [data-figure="wi.liability"]')).to_contain_text("4.24")
    expect(page.locator("#whatif-months tbody tr")).to_have_count(2)
    expect(page.locator("#whatif-customers")).to_contain_text("ana@example.com")
    expect(page.locator("#whatif-status")).to_contain_text("Listo · 4/4")
    expect(page.locator("#whatif-runs tbody tr")).to_have_count(1)
    screenshot("admin-whatif")


def test_a_csv_is_dry_run_then_applied_once(open_page, app_state, tmp_path, screenshot):
    page = open_page("import", "pt")
    page.click("#import-dry-run")
    expect(page.locator('[data-error="$"]')).to_contain_text("Escolha um arquivo CSV")
    export = tmp_path / "export.csv"
    export.write_text("email,points_balance\nana@example.com,1200\nnadie@example.com,5\n", "utf-8")
    page.set_input_files("#import-file", str(export))
    page.select_option("#import-source", "smile")
    page.click("#import-dry-run")
    expect(page.locator('[data-figure="imp.matched"]')).to_contain_text("1 · 1200")
    expect(page.locator("#import-unmatched")).to_contain_text("nadie@example.com")
    with app_state.db.transaction() as session:
        assert session.execute(select(LedgerEntry).where(LedgerEntry.kind == "adjust")).first() is None
    page.click("#import-apply")
    expect(page.locator("#import-written")).to_contain_text("Gravado: 1 saldos, 1200 pontos")
    expect(page.locator("#import-apply")).to_be_disabled()
    screenshot("admin-import")
    page.click("#import-dry-run")
    expect(page.locator('[data-figure="imp.already"]')).to_contain_text("1")
    expect(page.locator("#import-apply")).to_be_disabled()
    with app_state.db.transaction() as session:
        ana = session.execute(select(Customer).where(Customer.email == "ana@example.com")).scalar_one()
        assert ana.points_available == 1200  # the seed wrote ledger rows only; the import posts through balances
