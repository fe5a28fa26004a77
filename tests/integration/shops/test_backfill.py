"""`embajador import`: customers backfilled from a Shopify bulk operation."""
from __future__ import annotations

import responses
from sqlalchemy import select

from plugin.demo.fake_shopify import FakeShopify, install_into_responses
from plugin.models import Customer
from plugin.shops.backfill import import_customers
from tests.conftest import API_KEY, API_SECRET
from tests.integration.conftest import add_shop


def bulk_customer(n: int, state="SUBSCRIBED") -> dict:
    return {"id": f"gid://shopify/Customer/{9007199254740993 + n}", "email": f"Cliente{n}@Example.com",
            "firstName": f"Cliente {n}", "lastName": "Pérez", "locale": "es-MX", "updatedAt": "2026-11-01T00:00:00Z",
            "emailMarketingConsent": {"marketingState": state, "consentUpdatedAt": "2026-10-01T00:00:00Z"}}


def test_import_upserts_every_customer_and_can_be_rerun(app_state):
    shop_id = add_shop(app_state)
    fake = FakeShopify(api_key=API_KEY, api_secret=API_SECRET)
    token = "shpat_test"
    fake.tokens[token] = "embajador-test.myshopify.com"
    fake.bulk_results = [bulk_customer(n) for n in range(1200)] + [bulk_customer(5000, state="NOT_SUBSCRIBED")]
    progress = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        install_into_responses(fake, rsps, "https://admin.shopify.test")
        first = import_customers(app_state, shop_id, sleep=lambda s: None, on_progress=lambda d, t: progress.append(d))
        again = import_customers(app_state, shop_id, sleep=lambda s: None)
    assert first == {"imported": 1201, "created": 1201}
    assert again == {"imported": 1201, "created": 0}
    assert progress[-1] == 1201
    with app_state.db.transaction() as session:
        rows = session.execute(select(Customer).order_by(Customer.id)).scalars().all()
        assert len(rows) == 1201
        assert rows[0].shopify_id == "9007199254740993"  # 2**53 + 1, exact
        assert rows[0].email == "cliente0@example.com" and rows[0].marketing_state == "SUBSCRIBED"
        assert rows[-1].marketing_state == "NOT_SUBSCRIBED"
    assert len(fake.operations("bulkOperationRunQuery")) == 2
