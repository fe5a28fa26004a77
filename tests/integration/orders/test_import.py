"""`embajador import` brings orders too: each bulk order becomes one row in the orders table."""
from __future__ import annotations

import responses
from sqlalchemy import select

from plugin.demo.fake_shopify import FakeShopify, install_into_responses
from plugin.models import Order
from plugin.orders.backfill import import_orders
from tests.conftest import API_KEY, API_SECRET
from tests.integration.conftest import add_shop
from tests.shopify_requests import SHOP


def _node(n: int, customer: str | None, cancelled: str | None = None) -> dict:
    money = {"shopMoney": {"amount": f"{n}0.00", "currencyCode": "USD"}}
    return {"id": f"gid://shopify/Order/{5000 + n}", "createdAt": f"2026-10-0{n}T10:00:00Z",
            "updatedAt": f"2026-10-0{n}T11:00:00Z", "cancelledAt": cancelled, "displayFinancialStatus": "PAID",
            "sourceName": "web", "customer": {"id": customer} if customer else None,
            "totalPriceSet": money, "currentTotalPriceSet": money}


def test_import_records_every_order_once(app_state):
    shop_id = add_shop(app_state)
    fake = FakeShopify(api_key=API_KEY, api_secret=API_SECRET)
    fake.tokens["shpat_test"] = SHOP
    fake.bulk_results = [_node(1, "gid://shopify/Customer/77"), _node(2, None, "2026-10-03T00:00:00Z"),
                         {"id": "gid://shopify/Customer/77", "email": "c@example.com"}]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        install_into_responses(fake, rsps, "https://admin.shopify.test")
        assert import_orders(app_state, shop_id, sleep=lambda s: None) == {"imported": 2}
        assert import_orders(app_state, shop_id, sleep=lambda s: None) == {"imported": 2}  # a re-run
    with app_state.db.transaction() as session:
        rows = session.execute(select(Order).order_by(Order.order_id)).scalars().all()
        assert [(o.order_id, o.customer_shopify_id, o.total, o.cancelled, o.source) for o in rows] == [
            ("5001", "77", 10, False, "import"), ("5002", None, 20, True, "import")]


def test_the_import_command_brings_customers_then_orders(app):
    from tests.integration.loyalty.test_loyalty_cli_admin import cli
    app_state = app.extensions["embajador"]
    add_shop(app_state)
    fake = FakeShopify(api_key=API_KEY, api_secret=API_SECRET)
    fake.tokens["shpat_test"] = SHOP
    fake.bulk_results = [_node(1, "gid://shopify/Customer/77"), {"id": "gid://shopify/Customer/77",
                                                                  "email": "c@example.com"}]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        install_into_responses(fake, rsps, "https://admin.shopify.test")
        result = cli(app, "import", "--shop", SHOP)
    assert result.exit_code == 0, result.output
    assert "1 customers imported (1 new)" in result.output and "1 orders imported" in result.output
