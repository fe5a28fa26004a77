"""The storefront widget in Debian's Chromium against the real app (gunicorn on Postgres).

A local sample storefront renders the extension's real Liquid blocks and assets; its App Proxy
shim signs ``/apps/embajador/*`` like Shopify and forwards to gunicorn; Shopify's Admin API is
the local fake (it answers ``discountCodeBasicCreate``). Screenshots land in
``tests/browser/artifacts/`` (widget-guest, widget-member, widget-redeemed).
"""
from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from plugin import create_app
from plugin.demo.fake_shopify import FakeShopify
from plugin.loyalty.actions import adjust_points
from plugin.loyalty.custom_actions import award_custom_action
from plugin.loyalty.rules.program import default_program, dump_program
from plugin.models import Customer, Shop, utcnow
from tests.browser.storefront import ROOT, proxy_signature, storefront
from tests.conftest import API_KEY, API_SECRET, SHARED, _truncate_all, base_env
from tests.e2e.processes import gunicorn
from tests.integration.loyalty.conftest import payable, send, setup_shop
from tests.shopify_requests import SHOP

JON = "115310627314723954"  # the customer of Shopify's orders/paid example
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def stack(migrated, pg_url, tmp_path_factory):
    """Fake Shopify Admin + gunicorn + the sample storefront, shared by this module's tests."""
    fake = FakeShopify(api_key=API_KEY, api_secret=API_SECRET, currency="CLP", locale="es")
    fake.tokens["shpat_test"] = SHOP
    origin, fake_server = fake.serve()
    env = base_env(pg_url, SHOPIFY_ADMIN_ORIGIN=origin, PROXY_REDEEM_RATE_LIMIT="50/minute")
    app = create_app(env)
    with gunicorn(env, tmp_path_factory.mktemp("web")) as base, storefront(base, API_SECRET, SHOP) as front:
        yield {"app": app, "state": app.extensions["embajador"], "fake": fake, "front": front}
    fake_server.shutdown()
    app.extensions["embajador"].db.dispose()


@pytest.fixture
def shop(stack):
    """A fresh CLP shop with the default program (Bronce → Plata at $200.000)."""
    app_state = stack["state"]
    _truncate_all(app_state.db)
    stack["fake"].discounts.clear()
    setup_shop(app_state, currency="CLP")
    with app_state.db.transaction() as session:
        row = session.execute(select(Shop)).scalar_one()
        row.primary_locale, row.program = "es", dump_program(default_program("CLP", "es"))
    return stack


def make_member(stack, points: int, spend: str | None = "120000") -> None:
    """Jon signs up (customers/create), buys for ``spend`` CLP (pending points, tier progress)
    and ends with exactly ``points`` available."""
    app_state, client = stack["state"], stack["app"].test_client()
    with stack["app"].app_context():
        send(client, "customers/create", {"id": int(JON), "email": "jon@example.com", "first_name": "Camila",
                                          "updated_at": utcnow().isoformat()})
        if spend:
            money = {"amount": spend, "currency_code": "CLP"}
            send(client, "orders/paid", payable(at=utcnow() - timedelta(hours=1), currency="CLP",
                                                subtotal_price_set={"shop_money": money, "presentment_money": money},
                                                total_tax="0.00", taxes_included=False, tax_lines=[]))
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop)).scalar_one()
        jon = session.execute(select(Customer).where(Customer.shopify_id == JON)).scalar_one()
        if points != jon.points_available:
            adjust_points(session, shop, jon, points - jon.points_available, "test balance", "test", utcnow())


def open_page(page: Page, stack, path: str = "/products/poncho", lang: str = "es", member: bool = False) -> None:
    front = stack["front"]
    if member:
        page.context.add_cookies([{"name": "customer_id", "value": JON, "url": front.url}])
    page.goto(f"{front.url}{path}?lang={lang}")


def open_panel(page: Page):
    page.get_by_role("button", name=re.compile("Recompensas|Rewards")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_shim_signs_like_shopify():
    vectors = json.loads((SHARED / "fixtures" / "shopify" / "signature_vectors.json").read_text())
    vector = vectors["app_proxy_signature"][0]
    params = parse_qsl(vector["query_string"], keep_blank_values=True)
    assert proxy_signature(params, vector["secret"]) == vector["expected_signature_hex"]


def test_guest_sees_the_explainer_with_sign_in_links(page, shop, screenshot):
    open_page(page, shop)
    dialog = open_panel(page)
    expect(dialog).to_contain_text("Únete y gana puntos con cada compra.")
    expect(dialog.get_by_role("link", name="Iniciar sesión")).to_have_attribute("href", "/account/login")
    expect(dialog.get_by_role("link", name="Crear cuenta")).to_have_attribute("href", "/account/register")
    expect(dialog).to_contain_text("1 puntos por cada $1.000 en compras")
    expect(dialog).to_contain_text("Plata")
    expect(dialog).to_contain_text("desde $200.000 en compras")
    expect(dialog.get_by_role("button", name=re.compile("Canjear"))).to_have_count(0)
    expect(page.locator("[data-embajador-earn]")).to_have_text("Gana 49 puntos con esta compra")
    screenshot("widget-guest")


def test_member_sees_balance_pending_release_and_tier_progress_in_shop_money(page, shop, screenshot):
    make_member(shop, 700)
    open_page(page, shop, member=True)
    dialog = open_panel(page)
    expect(dialog).to_contain_text("Hola, Camila")
    expect(dialog.locator(".emb-big")).to_have_text("700")
    expect(dialog).to_contain_text("120 puntos pendientes: estarán disponibles el")
    expect(dialog).to_contain_text("Nivel: Bronce")
    bar = dialog.get_by_role("progressbar", name="Progreso hacia Plata")
    expect(bar).to_have_attribute("aria-valuenow", "60")
    expect(dialog).to_contain_text("Te faltan $80.000 en compras para llegar a Plata")
    expect(dialog).not_to_contain_text("80.000,00")
    expect(dialog.get_by_role("heading", name="Actividad reciente")).to_be_visible()
    expect(dialog).to_contain_text("Compra")
    expect(dialog.get_by_label("Tu enlace")).to_have_value(re.compile(r"/r/"))
    expect(dialog.get_by_role("button", name="Copiar").first).to_be_visible()
    expect(dialog.get_by_label("Tu cumpleaños")).to_be_visible()
    screenshot("widget-member")


def test_redeem_shows_the_code_and_the_balance_drops_then_not_enough_points(page, shop, screenshot):
    make_member(shop, 700)
    open_page(page, shop, member=True)
    dialog = open_panel(page)
    dialog.get_by_role("button", name=re.compile(r"Canjear: \$5\.000 de descuento")).click()
    expect(dialog.locator(".emb-code")).to_have_count(1)
    code = dialog.locator(".emb-code").inner_text()
    assert [d["code"] for d in shop["fake"].discounts] == [code], "the code shown is the one Shopify created"
    expect(dialog.get_by_role("link", name="Aplicar en el pago")).to_have_attribute("href", f"/discount/{code}")
    expect(dialog.locator(".emb-big")).to_have_text("200")
    dialog.get_by_role("link", name="Aplicar en el pago").scroll_into_view_if_needed()
    screenshot("widget-redeemed")
    dialog.get_by_role("button", name=re.compile(r"Canjear: \$5\.000 de descuento")).click()
    expect(dialog.get_by_role("alert")).to_have_text("No tienes suficientes puntos para esta recompensa.")
    assert len(shop["fake"].discounts) == 1
    page.reload()
    dialog = open_panel(page)
    expect(dialog.locator(".emb-big")).to_have_text("200")
    expect(dialog.get_by_role("heading", name="Tus códigos")).to_be_visible()
    expect(dialog.locator(".emb-code")).to_have_text(code)


def test_switching_html_lang_changes_the_texts(page, shop):
    make_member(shop, 700)
    open_page(page, shop, member=True)
    dialog = open_panel(page)
    expect(dialog).to_contain_text("puntos disponibles")
    page.evaluate("document.documentElement.lang = 'en'")
    expect(dialog).to_contain_text("points available")
    expect(dialog).to_contain_text("Spend $80,000 more to reach Plata")
    expect(page.get_by_role("button", name="Close")).to_be_visible()
    page.evaluate("document.documentElement.lang = 'pt'")
    expect(dialog).to_contain_text("pontos disponíveis")
    expect(dialog.get_by_role("button", name=re.compile("Resgatar")).first).to_be_visible()
    expect(page.locator("[data-embajador-earn]")).to_have_text("Ganhe 49 pontos com esta compra")


def test_member_saves_a_birthday_once(page, shop):
    make_member(shop, 700, spend=None)
    open_page(page, shop, member=True)
    dialog = open_panel(page)
    field = dialog.get_by_label("Tu cumpleaños")
    expect(dialog).to_contain_text("Guárdalo y recibe 200 puntos cada año.")
    field.fill("1990-05-17")
    dialog.get_by_role("button", name="Guardar").click()
    expect(dialog.get_by_role("status").filter(has_text="¡Guardado!")).to_be_visible()
    expect(field).to_have_count(0)
    with shop["state"].db.transaction() as session:
        jon = session.execute(select(Customer).where(Customer.shopify_id == JON)).scalar_one()
        assert jon.birthday.isoformat() == "1990-05-17"
    page.reload()
    expect(open_panel(page).locator(".emb-big")).to_have_text("700")
    expect(page.get_by_label("Tu cumpleaños")).to_have_count(0)


def test_keyboard_only_open_trap_escape(page, shop):
    make_member(shop, 700)
    open_page(page, shop, member=True)
    launcher = page.get_by_role("button", name="Recompensas")
    expect(launcher).to_be_visible()
    for _ in range(10):
        page.keyboard.press("Tab")
        if launcher.evaluate("el => el === document.activeElement"):
            break
    else:
        raise AssertionError("the launcher is never reached with Tab")
    assert launcher.evaluate("el => getComputedStyle(el).outlineStyle") != "none", "focus is visible"
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(dialog.get_by_role("button", name="Cerrar")).to_be_focused()
    expect(dialog.locator(".emb-big")).to_have_text("700")
    inside = dialog.evaluate("el => el.querySelectorAll('a[href],button,input').length")
    for _ in range(inside + 3):
        page.keyboard.press("Tab")
        assert dialog.evaluate("el => el.contains(document.activeElement)"), "focus never leaves the open panel"
    page.keyboard.press("Shift+Tab")
    assert dialog.evaluate("el => el.contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(launcher).to_be_focused()


def test_product_block_uses_the_member_tier_multiplier(page, shop):
    make_member(shop, 0, spend="250000")  # Plata: ×1.25
    open_page(page, shop, member=True)
    expect(page.locator("[data-embajador-earn]")).to_have_text("Gana 62 puntos con esta compra")


def test_rewards_page_block_explains_the_program_with_the_same_renderer(page, shop):
    make_member(shop, 700)
    open_page(page, shop, path="/pages/rewards", member=True)
    section = page.locator("[data-embajador-page]")
    expect(section.get_by_role("heading", name="Programa de recompensas")).to_be_visible()
    expect(section.get_by_role("heading", name="Cómo ganar puntos")).to_be_visible()
    expect(section.get_by_role("heading", name="Niveles")).to_be_visible()
    expect(section).to_contain_text("puntos ×1,25")
    expect(section.locator(".emb-big")).to_have_text("700")


def test_unexpected_json_and_errors_show_a_friendly_message(page, shop):
    front = shop["front"]
    page.route("**/apps/embajador/customer*", lambda route: route.fulfill(
        status=200, content_type="application/json",
        body=json.dumps({"customer": {"id": "1"}, "points": {"available": 5}, "tier": None, "rewards": None,
                         "program": {"tiers": "nope"}, "activity": [{"kind": "mystery"}]})))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{front.url}/products/poncho?lang=es")
    dialog = open_panel(page)
    expect(dialog).to_contain_text("Pronto habrá recompensas.")
    page.unroute("**/apps/embajador/customer*")
    page.route("**/apps/embajador/customer*", lambda route: route.fulfill(status=401, body="{}"))
    page.evaluate("window.Embajador.reload()")
    expect(dialog.get_by_role("alert")).to_have_text("No pudimos cargar tus puntos. Inténtalo de nuevo en un momento.")
    page.route("**/apps/embajador/customer*", lambda route: route.fulfill(status=200, body="<html>oops"))
    page.evaluate("window.Embajador.reload()")
    expect(dialog.get_by_role("button", name="Reintentar")).to_be_visible()
    assert errors == []


def test_theme_is_untouched_by_the_widget_css(page, shop):
    front = shop["front"]
    probe = "() => ['h1', '.buy', 'header', 'main'].map(s => { const c = getComputedStyle(document.querySelector(s));" \
            " return [c.font, c.color, c.margin, c.padding, c.background]; })"
    page.goto(f"{front.url}/products/poncho?widget=0")
    without = page.evaluate(probe)
    page.goto(f"{front.url}/products/poncho")
    expect(page.get_by_role("button", name="Recompensas")).to_be_visible()
    assert page.evaluate(probe) == without


def test_no_serious_accessibility_violations(page, shop):
    assert AXE.is_file(), "node_modules/axe-core is missing: run `make test` (it runs npm ci)"
    make_member(shop, 700)
    open_page(page, shop, member=True)
    open_panel(page)
    expect(page.locator(".emb-big")).to_have_text("700")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']})")
    serious = [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == []


def test_ways_to_earn_list_actions_outside_the_store_in_the_shoppers_language(page, shop):
    """actions.custom in the program: our words for review and instagram_follow, the merchant's
    own name for an id the widget does not know; an awarded action shows in the activity."""
    app_state = shop["state"]
    with app_state.db.transaction() as session:
        row = session.execute(select(Shop)).scalar_one()
        row.program = {**row.program, "actions": {**row.program["actions"], "custom": [
            {"id": "review", "points": 50}, {"id": "instagram_follow", "points": 20, "limit": 1},
            {"id": "unboxing_video", "points": 300, "name": "Video unboxing"}]}}
    make_member(shop, 700, spend=None)
    with shop["app"].app_context(), app_state.db.transaction() as session:  # the metafield sync runs inline
        row = session.execute(select(Shop)).scalar_one()
        jon = session.execute(select(Customer).where(Customer.shopify_id == JON)).scalar_one()
        assert award_custom_action(session, row, jon, "instagram_follow", "api-1", utcnow(), "test").awarded
    open_page(page, shop)  # a guest: the panel explains the program
    dialog = open_panel(page)
    expect(dialog).to_contain_text("50 puntos: Escribe una reseña")
    expect(dialog).to_contain_text("20 puntos: Síguenos en Instagram")
    expect(dialog).to_contain_text("300 puntos: Video unboxing")
    page.context.clear_cookies()
    open_page(page, shop, path="/pages/rewards", lang="pt", member=True)  # a member's rewards page
    section = page.locator("[data-embajador-page]")
    expect(section).to_contain_text("50 pontos: Escreva uma avaliação")
    expect(section.locator("li", has_text="+20")).to_contain_text("Siga-nos no Instagram")
