"""Every GraphQL document the app sends stays under Shopify's per-query cost limit.

Shopify refuses a query whose *requested* cost exceeds 1,000 with MAX_COST_EXCEEDED
(https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits); we aim at 250 so
a page never drains a standard bucket. The documents are found by scanning the app's modules,
so a new query is guarded as soon as it is written.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest
import responses
from query_cost import UnboundedConnection, operations, requested_cost
from shopify_support import ENDPOINT

from plugin.shopify import abandoned_checkouts
from plugin.shopify import orders as shopify_orders
from plugin.shopify.errors import ShopifyQueryTooCostly

SHOPIFY_LIMIT = 1000
OUR_BUDGET = 250
_DOCUMENT = re.compile(r'"""\s*(query|mutation|\{)', re.MULTILINE)
# Bulk operation documents run asynchronously and are not priced per request
# (https://shopify.dev/docs/api/usage/bulk-operations/queries); the mutation that starts them is.
BULK_DOCUMENTS = {"plugin.shops.backfill.CUSTOMERS_QUERY", "plugin.orders.backfill.ORDERS_QUERY"}
# The page sizes the app sends for each size variable, by operation name.
SIZES = {
    "AbandonedCheckoutsSince": {"first": abandoned_checkouts.PAGE_SIZE,
                                "lines": abandoned_checkouts.LINES_PER_CHECKOUT},
    "AbandonedCheckoutMoreLines": {"first": abandoned_checkouts.MORE_LINES_PAGE},
    "OrdersUpdatedSince": {"first": shopify_orders.ORDERS_PER_PAGE, "lines": shopify_orders.LINES_PER_ORDER},
}


def app_documents() -> dict[str, str]:
    """``module.CONSTANT`` -> GraphQL text, for every module of the app that holds one."""
    root = Path(__file__).resolve().parents[3]
    found: dict[str, str] = {}
    for package in ("plugin", "emails", "webhooks"):
        for info in pkgutil.walk_packages([str(root / package)], prefix=f"{package}."):
            path = root / (info.name.replace(".", "/") + ("/__init__.py" if info.ispkg else ".py"))
            if not path.exists() or not _DOCUMENT.search(path.read_text()):
                continue
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if isinstance(value, str) and name.isupper() and _is_graphql(value):
                    found[f"{info.name}.{name}"] = value
    return found


def _is_graphql(text: str) -> bool:
    stripped = text.lstrip()
    if not stripped.startswith(("query", "mutation", "{")):
        return False
    try:
        return bool(operations(text))
    except Exception:  # noqa: BLE001 - not GraphQL (e.g. an HTML page)
        return False


DOCUMENTS = app_documents()


def test_the_scan_finds_the_queries_the_app_sends():
    assert {"plugin.shopify.abandoned_checkouts.QUERY", "plugin.shopify.shop_profile.SHOP_QUERY",
            "plugin.shopify.customer_facts.CUSTOMER_QUERY", "plugin.shopify.customer_facts.CONSENT_MUTATION",
            "plugin.shopify.webhook_subscriptions.LIST_QUERY", "plugin.shopify.billing.CREATE_MUTATION",
            "plugin.shopify.billing.ACTIVE_QUERY", "plugin.shopify.billing.SUBSCRIPTION_QUERY",
            "plugin.shopify.billing.CANCEL_MUTATION"} <= set(DOCUMENTS)


@pytest.mark.parametrize("name", sorted(set(DOCUMENTS) - BULK_DOCUMENTS))
def test_every_query_costs_at_most_our_budget(name):
    document = DOCUMENTS[name]
    (operation,) = operations(document)
    sizes = SIZES.get(operation.name.value if operation.name else "", {})
    cost = requested_cost(document, sizes)
    assert cost <= SHOPIFY_LIMIT, f"{name} requests {cost} points: Shopify refuses it (MAX_COST_EXCEEDED)"
    assert cost <= OUR_BUDGET, f"{name} requests {cost} points, over our budget of {OUR_BUDGET}"


def test_the_formula_prices_the_old_nested_checkout_query_as_shopify_refuses_it():
    # first: 50 checkouts x lineItems(first: 50), as the app used to ask: about 7,950 points
    assert requested_cost(abandoned_checkouts.QUERY, {"first": 50, "lines": 50}) > 7000
    assert requested_cost(abandoned_checkouts.QUERY, SIZES["AbandonedCheckoutsSince"]) == 218


def test_a_connection_without_a_known_page_size_fails_the_guard():
    with pytest.raises(UnboundedConnection):
        requested_cost("query Q($n: Int!) { customers(first: $n) { nodes { id } } }", {})
    with pytest.raises(UnboundedConnection):
        requested_cost("query Q { customers { nodes { id } } }", {})


def test_max_cost_exceeded_is_a_clear_error_naming_the_query(client):
    body = {"errors": [{"message": "Query cost is 7952, which exceeds the single query max cost limit (1000).",
                        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": 7952, "maxCost": 1000}}],
            "extensions": {"cost": {"requestedQueryCost": 7952}}}
    with responses.RequestsMock() as rsps:
        rsps.post(ENDPOINT, json=body)
        with pytest.raises(ShopifyQueryTooCostly) as caught:
            client.execute(abandoned_checkouts.QUERY, {"first": 6, "lines": 10})
        assert len(rsps.calls) == 1  # never retried
    message = str(caught.value)
    assert "AbandonedCheckoutsSince" in message and "MAX_COST_EXCEEDED" in message and "7952" in message
