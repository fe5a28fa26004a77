"""The merchant's admin in a real browser (Debian Chromium, Shopify's CDN stubbed): onboarding
completes, a tier is edited and saved, every other section of the program (surveys, rewards,
referral, expiry, checkouts, point value) is edited with field errors, a held referral is
approved, another rejected with a reason in App Bridge's modal (and in the page's own dialog
when App Bridge has none), a customer is adjusted, email flows are switched off, delayed and
given a sender, a complaint is answered, the analytics charts render and a CSV downloads."""
from __future__ import annotations

import pytest
import responses
from playwright.sync_api import expect
from sqlalchemy import select

from emails.content.flows import FLOWS
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
    stubbed = {}

    def open_page(section: str = "", locale: str = "es", modal: bool = True):
        if not stubbed:
            stub_shopify_cdn(page, SHOP, modal=modal)
            stubbed["modal"] = modal
        page.goto(f"{server.url}/{section}?shop={SHOP}&locale={locale}")
        return page
    return open_page, seeded


def _program(app_state) -> dict:
    with app_state.db.transaction() as session:
        return session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one().program


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
    expect(page.locator('[data-error="tiers[1].multiplier"]')).to_contain_text("<= 10")
    multiplier.fill("2")
    expect(multiplier).not_to_have_class("invalid")
    expect(page.locator("#program-preview")).to_contain_text("100 puntos")  # 50 000 CLP × 1 pt/1 000 × 2
    page.click("#save-program")
    _toast(page, "Cambios guardados")
    expect(page.locator("#versions tbody tr")).to_have_count(2)
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        assert shop.program["tiers"][1]["multiplier"] == 2


def test_every_other_program_section_is_edited_with_field_errors(admin, app_state, screenshot):
    open_page, _ = admin
    page = open_page("program")
    # The template's first option is "nps" before the program loads; the expiry is empty until then.
    expect(page.locator('[data-path="surveys.expiry_days"]')).to_have_value("30")
    expect(page.locator('[data-path="surveys.type"]')).to_have_value("nps")
    page.select_option('[data-path="surveys.type"]', "csat")
    page.fill('[data-path="surveys.delay_days"]', "3")
    expiry_days = page.locator('[data-path="surveys.expiry_days"]')
    expiry_days.fill("0")  # the schema's minimum is 1: the same validator as `program import`
    expect(expiry_days).to_have_class("invalid")
    expect(page.locator('[data-error="surveys.expiry_days"]')).to_contain_text("0")
    expiry_days.fill("14")
    expect(expiry_days).not_to_have_class("invalid")
    cost = page.locator('[data-path="rewards[0].cost"]')
    cost.fill("0")
    expect(cost).to_have_class("invalid")
    cost.fill("400")
    page.select_option('[data-path="rewards[1].type"]', "free_shipping")
    expect(page.locator('[data-path="rewards[1].value"]')).to_be_disabled()
    page.fill('[data-path="abandoned_checkout.steps[1]"]', "PT30M")  # earlier than step 1
    expect(page.locator('[data-error="abandoned_checkout.steps[1]"]')).to_contain_text("later than")
    page.fill('[data-path="abandoned_checkout.steps[1]"]', "PT12H")
    page.select_option('[data-path="abandoned_checkout.incentive_on_step"]', "2")
    page.fill('[data-path="abandoned_checkout.incentive.value"]', "15")
    page.fill('[data-path="expiry.warn_days_before"]', "60, 14")
    page.uncheck('[data-toggle="referral"]')
    expect(page.locator('[data-path="referral.advocate_points"]')).to_be_disabled()
    page.fill('[data-path="point_value"]', "2")
    page.fill('[data-path="actions.birthday_lead_days"]', "10")
    page.fill('[data-path="tiers[2].entry_points"]', "300")
    page.click("#add-action")  # an action outside the store (actions.custom)
    page.fill('[data-path="actions.custom[0].id"]', "review")
    page.fill('[data-path="actions.custom[0].points"]', "50")
    cooldown = page.locator('[data-path="actions.custom[0].cooldown"]')
    cooldown.fill("a month")
    expect(cooldown).to_have_class("invalid")
    cooldown.fill("P30D")
    expect(page.locator(".invalid")).to_have_count(0)
    page.click("#save-program")
    _toast(page, "Cambios guardados")
    screenshot("admin-program")
    saved = _program(app_state)
    assert saved["surveys"] == {"type": "csat", "delay_days": 3, "expiry_days": 14}
    assert saved["rewards"][0]["cost"] == 400 and saved["rewards"][1]["type"] == "free_shipping"
    assert "value" not in saved["rewards"][1]
    assert saved["abandoned_checkout"]["steps"] == ["PT1H", "PT12H", "PT72H"]
    assert saved["abandoned_checkout"]["incentive_on_step"] == 2
    assert saved["abandoned_checkout"]["incentive"] == {"type": "percentage", "value": "15"}
    assert saved["expiry"]["warn_days_before"] == [60, 14]
    assert saved["referral"] is None and saved["point_value"] == "2"
    assert saved["actions"]["birthday_lead_days"] == 10 and saved["tiers"][2]["entry_points"] == 300
    assert saved["actions"]["custom"] == [{"id": "review", "points": 50, "limit": None, "cooldown": "P30D"}]


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


@pytest.mark.parametrize("app_bridge_modal", [True, False], ids=["app-bridge-modal", "fallback-dialog"])
def test_a_held_referral_is_rejected_with_a_reason(admin, app_state, screenshot, app_bridge_modal):
    open_page, seeded = admin
    page = open_page("referrals", modal=app_bridge_modal)
    page.locator(f"[data-referral='{seeded.referral_id}'] [data-reject]").click()
    if app_bridge_modal:
        expect(page.locator("#reason-modal")).to_be_visible()
        expect(page.locator("#dialog")).not_to_be_visible()
        page.fill("#reason-modal-input", "misma persona")
        screenshot("admin-referral-reject")
        page.click("#reason-modal-ok")
        expect(page.locator("#reason-modal")).not_to_be_visible()
        assert page.evaluate("window.__modals") == ["reason-modal"]
    else:
        expect(page.locator("#dialog")).to_be_visible()
        page.fill("#dialog-input", "misma persona")
        page.click("#dialog-ok")
    expect(page.locator("#held")).to_contain_text("No hay referidos retenidos.")
    with app_state.db.transaction() as session:
        referral = session.get(Referral, seeded.referral_id)
        assert referral.status == "rejected"
        assert referral.review_note == "misma persona"


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


def test_emails_page_switches_delays_and_sends_flows_with_consent_kind_read_only(admin, app_state, screenshot):
    open_page, _ = admin
    page = open_page("emails", locale="en")
    win_back = page.locator("#flows tr[data-flow=win_back]")
    expect(win_back.locator("[data-kind]")).to_have_text("Marketing")
    expect(win_back.locator("select, [data-path=marketing]")).to_have_count(0)  # the kind is read-only
    expect(page.locator("#flows tr[data-flow=abandoned_checkout_2]")).to_contain_text("In the program: PT24H")
    win_back.locator("[data-path=enabled]").uncheck()
    expect(win_back).to_have_class("flow-off")
    welcome = page.locator("#flows tr[data-flow=welcome]")
    welcome.locator("[data-path=delay_minutes]").fill("90")
    welcome.locator("[data-path=delay_minutes]").dispatch_event("change")
    _toast(page, "Changes saved")
    sender = page.locator("#flows tr[data-flow=points_earned] [data-path=from_email]")
    sender.fill("not-an-address")
    sender.dispatch_event("change")
    expect(sender).to_have_class("invalid")
    sender.fill("club@tienda.test")
    sender.dispatch_event("change")
    expect(sender).not_to_have_class("invalid")
    expect(page.locator("#flow-events tbody tr")).to_have_count(len(FLOWS))  # every flow of the catalogue
    welcome.locator("[data-preview]").click()
    frame = page.frame_locator("#preview-frame")
    expect(frame.locator("body")).to_contain_text("100")
    page.select_option("#preview-lang", "pt")
    expect(frame.locator("body")).to_contain_text("Beatriz")  # the sample shopper of the pt preview
    page.click("#preview-test")
    _toast(page, "dueno@otra.test")
    screenshot("admin-emails")
    with app_state.db.transaction() as session:
        flows = session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one().settings["emails"]["flows"]
    assert flows["win_back"]["enabled"] is False
    assert flows["welcome"]["delay_minutes"] == 90
    assert flows["points_earned"]["from_email"] == "club@tienda.test"


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
