"""The daily orders reconcile in `tick`: a paid order whose webhook never came (or died)
still earns its points, exactly once, and its GraphQL query stays under Shopify's cost cap."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from plugin.jobs.tick import run_tick
from plugin.loyalty.order_reconcile import reconcile_paid_orders
from plugin.loyalty.rules.earning import order_facts_from_payload, points_for_order
from plugin.loyalty.rules.program import default_program
from plugin.models import LedgerEntry, WebhookDelivery, utcnow
from plugin.shopify.orders import MAX_QUERY_COST, requested_cost
from tests.integration.loyalty.conftest import (
    customer,
    payable,
    recently,
    send,
    setup_shop,
)

JON = "115310627314723954"


def graphql_order(order: dict, status: str = "PAID") -> dict:
    """The same order as Admin GraphQL returns it (field names from the Order object)."""
    def money(amount: str) -> dict:
        return {"shopMoney": {"amount": amount, "currencyCode": "USD"},
                "presentmentMoney": {"amount": amount, "currencyCode": "USD"}}
    return {
        "id": f"gid://shopify/Order/{order['id']}", "name": order["name"], "email": order["email"],
        "createdAt": order["created_at"], "processedAt": order["processed_at"], "cancelledAt": None,
        "updatedAt": order["created_at"], "displayFinancialStatus": status, "taxesIncluded": False, "test": False,
        "sourceName": "web", "customerLocale": "es", "discountCodes": [], "customAttributes": [],
        "customer": {"id": f"gid://shopify/Customer/{order['customer']['id']}", "email": order["customer"]["email"]},
        "subtotalPriceSet": money(order["subtotal_price_set"]["shop_money"]["amount"]),
        "lineItems": {"nodes": [{"isGiftCard": False, "quantity": line["quantity"],
                                 "originalUnitPriceSet": money(line["price"]), "discountAllocations": []}
                                for line in order["line_items"]], "pageInfo": {"hasNextPage": False}},
    }


def earn_entries(app_state) -> list:
    with app_state.db.transaction() as session:
        return session.execute(select(LedgerEntry.key, LedgerEntry.available + LedgerEntry.pending)
                               .where(LedgerEntry.kind == "earn")).all()


def test_the_orders_query_costs_at_most_1000():
    assert requested_cost() <= MAX_QUERY_COST


def test_a_paid_order_whose_webhook_never_arrived_earns_the_same_points_once(client, app_state, fake_admin):
    setup_shop(app_state)
    order = payable(at=recently())
    fake_admin.orders = [graphql_order(order), graphql_order(payable(at=recently(), id=99), status="PENDING")]

    first = reconcile_paid_orders(app_state, utcnow())

    assert first == {"shops": 1, "orders_seen": 2, "awarded_late": 1, "errors": 0}
    earned = earn_entries(app_state)
    assert [key for key, _ in earned] == [f"order:{order['id']}:earn"] and earned[0][1] > 0
    assert fake_admin.operations("orders")[0]["query"].startswith("updated_at:>=")
    # The same day again: nothing; the webhook turning up late: no second award.
    assert reconcile_paid_orders(app_state, utcnow() + timedelta(hours=2))["shops"] == 0
    send(client, "orders/paid", order)
    assert earn_entries(app_state) == earned

    # What the webhook would have given: the pure rule on the webhook's own payload.
    facts = order_facts_from_payload(json.loads(json.dumps(order), parse_float=Decimal), "USD")
    assert earned[0][1] == points_for_order(facts.merchandise, default_program("USD")).points


def test_a_dead_webhook_is_made_good_by_the_next_daily_run_from_tick(client, app_state, fake_admin):
    setup_shop(app_state)
    order = payable(at=recently())
    with app_state.db.transaction() as session:
        session.add(WebhookDelivery(shop_domain="embajador-test.myshopify.com", shop_id=1, topic="orders/paid",
                                    dedupe_key="event:lost", payload=None, status="dead", attempts=8,
                                    last_error="OperationalError: server closed the connection"))
    fake_admin.orders = [graphql_order(order, status="PARTIALLY_REFUNDED")]

    results = run_tick(app_state, utcnow())

    assert results["orders_reconcile"]["awarded_late"] == 1
    assert customer(app_state, JON).points_available + customer(app_state, JON).points_pending > 0
    with app_state.db.transaction() as session:
        statuses = dict(session.execute(select(WebhookDelivery.dedupe_key, WebhookDelivery.status)).all())
    assert statuses == {"event:lost": "dead", f"reconcile:{order['id']}": "processed"}
