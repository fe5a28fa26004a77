"""The Plan page with billing on, in a real browser: past the allowance every page shows the
banner (and keeps working), Choose sends the top window to Shopify's approval page, and the
return URL brings the merchant back on the paid plan."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import responses
from playwright.sync_api import expect

from plugin import create_app
from plugin.orders.facts import OrderFacts
from plugin.orders.store import record_order
from tests.browser.admin_server import ServedApp, stub_shopify_cdn
from tests.conftest import _truncate_all, base_env
from tests.integration.billing.test_billing import GRAPHQL, FakeBilling
from tests.integration.conftest import add_shop
from tests.shopify_requests import SHOP


@pytest.fixture
def served(migrated, pg_url):
    app = create_app(base_env(pg_url, BILLING="on"))
    app_state = app.extensions["embajador"]
    _truncate_all(app_state.db)
    shop_id = add_shop(app_state)
    now = datetime.now(UTC)
    with app_state.db.transaction() as session:
        for n in range(101):
            record_order(session, shop_id, OrderFacts(
                order_id=str(6000 + n), customer_shopify_id=None, placed_at=now, total=Decimal("10"),
                current_total=Decimal("10"), currency="USD", financial_status="paid", cancelled=False,
                source_name="web", updated_at=now))
    fake = FakeBilling()
    with app.app_context(), responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_callback(responses.POST, GRAPHQL, callback=fake.answer)
        rsps.add_passthru("http://127.0.0.1")
        server = ServedApp(app)
        yield server, fake
        server.stop()
    app_state.db.dispose()


def test_banner_choose_approve_and_return(page, served, screenshot):
    server, fake = served
    stub_shopify_cdn(page, SHOP)
    page.goto(f"{server.url}/customers?shop={SHOP}&locale=en")
    expect(page.locator("#allowance-banner")).to_contain_text("You passed your plan's 100 orders this month (101)")

    page.goto(f"{server.url}/billing?shop={SHOP}&locale=en")
    expect(page.locator("#bill-plan")).to_have_text("Embajador Free")
    expect(page.locator("#bill-off")).to_be_hidden()
    expect(page.locator("#bill-usage")).to_have_text("101 of 100 orders this month")
    expect(page.locator('[data-plan="growth"]')).to_contain_text("14-day trial")
    screenshot("admin-billing")

    page.route(re.compile(rf"https://{re.escape(SHOP)}/admin/charges/.*"),
               lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>Approve charge</h1>"))
    page.click('[data-choose="growth"]')
    expect(page).to_have_url(re.compile(r"/RecurringApplicationCharge/confirm_recurring_application_charge"))

    fake.merchant("ACTIVE")
    back = page.request.get(f"{server.url}/billing/return?shop={SHOP}&charge_id=29532323", max_redirects=0)
    assert back.status == 302
    assert re.fullmatch(r"https://admin\.shopify\.com/store/embajador-test/apps/[^/]+/billing", back.headers["location"])
    page.goto(f"{server.url}/billing?shop={SHOP}&locale=en")
    expect(page.locator("#bill-plan")).to_have_text("Embajador Growth")
    expect(page.locator("#bill-status")).to_have_text("ACTIVE")
    expect(page.locator("#allowance-banner")).to_be_hidden()  # 101 of 3000
