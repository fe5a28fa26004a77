"""The webhooks and plan pages in a real browser: the merchant adds an endpoint (the secret is
shown once), a points adjustment reaches a local receiver signed, the page shows its last
response; the plan page says billing is off on a self-hosted install."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.admin_server import ServedApp, stub_shopify_cdn
from tests.integration.admin.admin_support import seed_shop
from tests.integration.outbound.outbound_support import start_receiver, verify_signature
from tests.shopify_requests import SHOP


@pytest.fixture
def served(app):
    seeded = seed_shop(app.extensions["embajador"], domain=SHOP)
    server = ServedApp(app)
    receiver, http = start_receiver()
    yield server, seeded, receiver
    http.shutdown()
    http.server_close()
    server.stop()


def test_an_endpoint_is_added_and_receives_a_signed_event(page, served, screenshot):
    server, seeded, receiver = served
    stub_shopify_cdn(page, SHOP)
    page.goto(f"{server.url}/webhooks?shop={SHOP}&locale=es")
    expect(page.locator("#wh-endpoints")).to_contain_text("Aún no hay endpoints.")
    page.fill("#wh-url", "https://10.0.0.7/hook")
    page.click("#wh-add")
    expect(page.locator('[data-error="url"]')).to_contain_text("private, loopback or link-local")

    page.fill("#wh-url", receiver.url())
    page.uncheck('#wh-topics input[value="tier.changed"]')
    page.click("#wh-add")
    expect(page.locator("#wh-secret")).to_be_visible()
    secret = page.locator("#wh-secret-value").text_content()
    assert secret.startswith("whsec_")
    expect(page.locator("#wh-endpoints")).to_contain_text(receiver.url())

    page.goto(f"{server.url}/customers?shop={SHOP}&locale=es")
    page.fill("#q", "ana@otra.test")
    page.click("#customer-search button")
    page.locator("#customer-list tbody tr").first.locator("a, button").first.click()
    page.fill("#adjust-points", "120")
    page.fill("#adjust-reason", "regalo de bienvenida")
    page.click("#adjust-submit")
    expect(page.locator("#toast")).to_be_visible()

    (request,) = [r for r in receiver.requests if r.event["type"] == "points.changed"]
    assert verify_signature(request.headers["embajador-signature"], request.body, secret)
    assert request.event["data"]["entry"]["available"] == 120

    page.goto(f"{server.url}/webhooks?shop={SHOP}&locale=es")
    expect(page.locator("#wh-endpoints")).to_contain_text("Última respuesta: 200")
    expect(page.locator("#wh-deliveries")).to_contain_text("points.changed")
    screenshot("admin-webhooks")


def test_the_plan_page_says_billing_is_off(page, served):
    server, _, _ = served
    stub_shopify_cdn(page, SHOP)
    page.goto(f"{server.url}/billing?shop={SHOP}&locale=en")
    expect(page.locator("#bill-off")).to_contain_text("Billing is off on this install")
    expect(page.locator("#bill-off")).to_be_visible()
    expect(page.locator("#bill-on")).to_be_hidden()
    expect(page.locator("#allowance-banner")).to_be_hidden()
