"""The merchant's admin in a real browser (Debian Chromium, Shopify's CDN stubbed): onboarding
completes, a tier is edited and saved, a held referral is approved, a customer is adjusted,
a complaint is answered, the analytics charts render and a CSV downloads."""
from __future__ import annotations

import pytest
import responses
from playwright.sync_api import expect
from sqlalchemy import select

from plugin.demo.fake_shopify import FakeShopify, install_into_responses
from plugin.models import Complaint, Customer, Referral, Shop
from tests.browser.admin_server import ServedApp, stub_shopify_cdn
from tests.conftest import API_KEY, API_SECRET
from tests.integration.admin.admin_support import order, seed_shop
from tests.shopify_requests import SHOP


@pytest.fixture
def served(app):
    seeded = seed_shop(app.extensions["embajador"], domain=SHOP)
    server = ServedApp(app)
    yield server, seeded
    server.stop()


@pytest.fixture
def admin(page, served):
    server, seeded = served
    stub_shopify_cdn(page, SHOP)

    def open_page(section: str = "", locale: str = "es"):
        page.goto(f"{server.url}/{section}?shop={SHOP}&locale={locale}")
        return page
    return open_page, seeded


def _toast(page, text: str) -> None:
    expect(page.locator("#toast")).to_contain_text(text)


def test_onboarding_completes(admin, app_state, screenshot):
    open_page, _ = admin
    page = open_page()
    expect(page.locator("[data-preset=vip] h3")).to_have_text("Puntos + niveles VIP")
    screenshot("admin-onboarding")
    page.click("[data-use=vip]")
    expect(page.locator("[data-step=program] [data-status]")).to_have_text("Listo")
    page.fill("#sender-email", "dueno@tienda.test")
    page.click("#sender-test")
    expect(page.locator("[data-step=sender] [data-status]")).to_have_text("Listo")
    expect(page.locator("#theme-link")).to_have_attribute("href", f"https://{SHOP}/admin/themes/current/editor"
                                                          f"?context=apps&activateAppId={API_KEY}/app-embed")
    page.click("#theme-done")
    expect(page.locator("[data-step=theme] [data-status]")).to_have_text("Listo")
    fake = FakeShopify(api_key=API_KEY, api_secret=API_SECRET)
    fake.tokens["shpat_test"] = SHOP  # the token add_shop stored
    fake.bulk_results = [{"id": f"gid://shopify/Customer/{700 + i}", "email": f"c{i}@example.com",
                          "firstName": "C", "lastName": str(i), "locale": "es",
                          "emailMarketingConsent": {"marketingState": "SUBSCRIBED"}} for i in range(3)]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        install_into_responses(fake, rsps, "https://admin.shopify.test")
        page.click("#import-start")
        expect(page.locator("[data-step=import] [data-status]")).to_have_text("Listo")
    expect(page.locator("#import-label")).to_contain_text("3/3")
    page.click("#go-live")
    expect(page.locator("#live-banner")).to_be_visible()
    expect(page.locator("#live-banner")).to_contain_text("¡Estás en vivo!")
    screenshot("admin-home-live")
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        assert [t["name"] for t in shop.program["tiers"]] == ["Bronce", "Plata", "Oro"]
        assert shop.settings["onboarding"]["live_at"]


def test_a_tier_is_edited_with_field_errors_then_saved(admin, app_state, screenshot):
    open_page, _ = admin
    page = open_page("program")
    multiplier = page.locator('[data-path="tiers[1].multiplier"]')
    expect(multiplier).to_have_value("1.25")
    multiplier.fill("99")
    expect(multiplier).to_have_class("invalid")
    expect(page.locator('[data-error="$"]')).to_contain_text("tiers[1].multiplier")
    multiplier.fill("2")
    expect(multiplier).not_to_have_class("invalid")
    expect(page.locator("#program-preview")).to_contain_text("100 puntos")  # 50 000 CLP × 1 pt/1 000 × 2
    page.click("#save-program")
    _toast(page, "Cambios guardados")
    expect(page.locator("#versions tbody tr")).to_have_count(2)
    screenshot("admin-program")
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        assert shop.program["tiers"][1]["multiplier"] == 2


def test_a_held_referral_is_approved(admin, app_state, screenshot):
    open_page, seeded = admin
    page = open_page("referrals")
    card = page.locator(f"[data-referral='{seeded.referral_id}']")
    expect(card).to_contain_text("self_referral")
    screenshot("admin-referrals")
    card.locator("[data-approve]").click()
    expect(page.locator("#held")).to_contain_text("No hay referidos retenidos.")
    expect(page.locator("#successful tbody tr")).to_have_count(1)
    with app_state.db.transaction() as session:
        assert session.get(Referral, seeded.referral_id).status == "successful"


def test_a_customer_is_found_and_adjusted_with_a_reason(admin, app_state, screenshot):
    open_page, _ = admin
    page = open_page("customers")
    page.fill("#q", "secreta")
    page.click("#customer-search button")
    page.click("[data-customer='900001']")
    expect(page.locator("#c-balance")).to_contain_text("700")
    page.fill("#adjust-points", "-200")
    page.click("#adjust-submit")
    expect(page.locator('[data-error="reason"]')).to_contain_text("required")
    page.fill("#adjust-reason", "pedido duplicado")
    page.click("#adjust-submit")
    expect(page.locator("#c-balance")).to_contain_text("500")
    expect(page.locator("#c-ledger")).to_contain_text("pedido duplicado")
    screenshot("admin-customer")
    with app_state.db.transaction() as session:
        customer = session.execute(select(Customer).where(Customer.shopify_id == "900001")).scalar_one()
        assert customer.points_available == 500


def test_a_complaint_is_answered_and_a_data_request_listed(admin, app_state, screenshot):
    open_page, seeded = admin
    page = open_page("complaints", locale="pt")
    case = page.locator(f"[data-complaint='{seeded.complaint_id}']")
    expect(case).to_contain_text("tarde")
    case.locator("textarea").fill("Lamentamos o atraso; enviamos um cupom.")
    case.locator("[data-reply]").click()
    expect(case).to_contain_text("answered")
    expect(page.locator("#exports")).to_contain_text("Prazo")
    screenshot("admin-complaints")
    with app_state.db.transaction() as session:
        assert session.get(Complaint, seeded.complaint_id).answer == "Lamentamos o atraso; enviamos um cupom."


def test_analytics_charts_render_and_a_csv_downloads(admin, app_state, screenshot):
    open_page, seeded = admin
    with app_state.db.transaction() as session:
        order(seeded.shop_id, session, 800002, "900001", "2026-11-03T10:00:00", "120.00")
        order(seeded.shop_id, session, 800003, "900001", "2026-11-20T10:00:00", "80.00")
    page = open_page("analytics", locale="en")
    expect(page.locator("[data-chart] svg")).to_have_count(9)
    expect(page.locator("[data-kpi=members_vs_non_members]")).to_contain_text("100.0 %")
    expect(page.locator("[data-chart=monthly_revenue] .definition")).to_contain_text("non-cancelled orders")
    screenshot("admin-analytics")
    with page.expect_download() as download:
        page.click("[data-csv=customers]")
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.splitlines()[0].startswith("shopify_id,email")
    assert "900001" in text


def test_emails_page_lists_flows_with_consent_kind_and_previews(admin, screenshot):
    open_page, _ = admin
    page = open_page("emails", locale="en")
    row = page.locator("#flows tr", has_text="win_back")
    expect(row).to_contain_text("Marketing")
    page.locator("#flows tr", has_text="welcome").locator("[data-preview]").click()
    frame = page.frame_locator("#preview-frame")
    expect(frame.locator("body")).to_contain_text("100")
    screenshot("admin-emails")


def test_an_api_key_is_shown_once_works_on_v1_then_revoked(admin, app, app_state, screenshot):
    open_page, _ = admin
    page = open_page("developers", locale="en")
    expect(page.locator("#api-base")).to_have_text("https://embajador.test/v1")
    page.fill("#key-name", "Zapier")
    page.click("#key-form button")
    expect(page.locator("#new-key-value")).to_contain_text("emb_")
    key = page.locator("#new-key-value").inner_text()
    expect(page.locator("#keys tbody tr")).to_have_count(1)
    expect(page.locator("#keys")).not_to_contain_text(key)  # the list shows the prefix only
    screenshot("admin-developers-key")
    client = app.test_client()
    assert client.get("/v1/rewards", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    page.click("[data-revoke]")
    expect(page.locator("#keys")).to_contain_text("Revoked")
    assert client.get("/v1/rewards", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    page.fill("#judgeme-secret", "short")
    page.click("#judgeme-form button.primary")
    expect(page.locator('[data-error="secret"]')).to_contain_text("Judge.me")
    page.click("#yotpo-connect")
    expect(page.locator("#yotpo-url")).to_contain_text(f"/hooks/reviews/yotpo/{SHOP}?token=")
