"""Orders for analytics from Shopify's bulk import (``embajador import`` and onboarding).

One bulk query of the shop's orders; each node becomes the same ``OrderFacts`` an order webhook
gives, recorded by ``record_order`` (source ``import``), so a re-run or a webhook for the same
order converges on one row. Fields: Admin GraphQL ``Order``
(https://shopify.dev/docs/api/admin-graphql/latest/objects/Order). Without ``read_all_orders``
Shopify returns the last 60 days only.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from plugin.orders.facts import OrderFacts, order_facts
from plugin.orders.store import record_order
from plugin.shopify.bulk_operations import iter_bulk_results
from plugin.shopify.gids import parse_gid
from plugin.shops.backfill import apply_in_batches, finished_bulk_operation

ORDERS_QUERY = """
{
  orders {
    edges {
      node {
        id createdAt updatedAt cancelledAt displayFinancialStatus sourceName
        customer { id }
        totalPriceSet { shopMoney { amount currencyCode } }
        currentTotalPriceSet { shopMoney { amount currencyCode } }
      }
    }
  }
}
"""


def _money(node: dict[str, Any], name: str) -> dict[str, Any]:
    shop_money = ((node.get(name) or {}).get("shopMoney")) or {}
    return {"shop_money": {"amount": shop_money.get("amount"), "currency_code": shop_money.get("currencyCode")}}


def facts_from_node(node: dict[str, Any]) -> OrderFacts | None:
    """A bulk (GraphQL) order as the facts an orders/updated webhook would give."""
    try:
        order_id = parse_gid(node["id"])[1]
        customer = node.get("customer") or {}
        customer_id = parse_gid(customer["id"])[1] if customer.get("id") else None
    except (KeyError, ValueError):
        return None
    return order_facts({
        "id": order_id, "created_at": node.get("createdAt"), "updated_at": node.get("updatedAt"),
        "cancelled_at": node.get("cancelledAt"), "source_name": node.get("sourceName"),
        "financial_status": str(node.get("displayFinancialStatus") or "").lower() or None,
        "customer": {"id": customer_id} if customer_id else None,
        "total_price_set": _money(node, "totalPriceSet"),
        "current_total_price_set": _money(node, "currentTotalPriceSet"),
    })


def import_orders(app_state: Any, shop_id: int, *, sleep: Callable[[float], None] = time.sleep,
                  on_progress: Callable[[int, int], None] = lambda done, total: None) -> dict[str, int]:
    """Run the bulk query and record every order; returns ``{"imported": n}``."""
    operation = finished_bulk_operation(app_state, shop_id, ORDERS_QUERY, sleep=sleep)
    counts = {"imported": 0}
    if operation.url is None:
        return counts
    orders = (facts for node in iter_bulk_results(operation.url)
              if str(node.get("id", "")).startswith("gid://shopify/Order/")
              and (facts := facts_from_node(node)) is not None)
    apply_in_batches(orders, lambda batch: _record(app_state, shop_id, batch, counts),
                     lambda: on_progress(counts["imported"], operation.object_count))
    return counts


def _record(app_state: Any, shop_id: int, batch: list[OrderFacts], counts: dict[str, int]) -> None:
    if not batch:
        return
    with app_state.db.transaction() as session:
        for facts in batch:
            record_order(session, shop_id, facts, source="import")
    counts["imported"] += len(batch)
