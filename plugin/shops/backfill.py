"""`embajador import`: backfill a shop's customers from Shopify with one bulk operation.

One bulk query per shop instead of thousands of paginated calls; the JSONL result is
streamed and upserted in batches, so a shop with 500 k customers never sits in memory.
Existing rows are updated in place (the same upsert as customers/update), so a re-run is safe.
Consent and the birthday metafield go through the same code as every other source
(plugin/customers/consent.py), so an import never fakes a webhook field Shopify removed.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from plugin.customers.profiles import upsert_customer
from plugin.models import Shop, utcnow
from plugin.shopify.bulk_operations import bulk_operation_status, iter_bulk_results, start_bulk_query
from plugin.shopify.customer_facts import customer_facts_from_node
from plugin.shopify.gids import parse_gid
from plugin.shops.customer_sync import apply_customer_facts
from plugin.shops.tokens import admin_client

CUSTOMERS_QUERY = """
{
  customers {
    edges {
      node {
        id email firstName lastName locale updatedAt numberOfOrders
        emailMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt }
        birthDate: metafield(namespace: "facts", key: "birth_date") { value }
      }
    }
  }
}
"""
BATCH = 500
T = TypeVar("T")
POLL_SECONDS = 2.0


class BackfillFailed(Exception):
    pass


def customer_payload(node: dict) -> dict:
    """The profile fields of a bulk (GraphQL) customer, named like a customers/update body
    (consent and birthday are applied separately, from ``customer_facts_from_node``)."""
    return {"id": int(parse_gid(node["id"])[1]), "email": node.get("email"),
            "first_name": node.get("firstName"), "last_name": node.get("lastName"),
            "locale": node.get("locale"), "updated_at": node.get("updatedAt")}


def finished_bulk_operation(app_state, shop_id: int, query: str, *, sleep: Callable[[float], None] = time.sleep,
                            max_wait_seconds: float = 3600):
    """Start a bulk query for the shop and wait until Shopify finished it (BackfillFailed otherwise)."""
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
    client = admin_client(app_state, shop)
    operation = bulk_operation_status(client, start_bulk_query(client, query))
    waited = 0.0
    while not operation.finished:
        if waited > max_wait_seconds:
            raise BackfillFailed(f"bulk operation still {operation.status} after {max_wait_seconds:.0f}s")
        sleep(POLL_SECONDS)
        waited += POLL_SECONDS
        operation = bulk_operation_status(client, operation.id)
    if operation.status != "COMPLETED":
        raise BackfillFailed(f"bulk operation {operation.status.lower()} ({operation.error_code or 'no code'})")
    return operation


def import_customers(app_state, shop_id: int, *, sleep: Callable[[float], None] = time.sleep,
                     on_progress: Callable[[int, int], None] = lambda done, total: None,
                     max_wait_seconds: float = 3600) -> dict:
    operation = finished_bulk_operation(app_state, shop_id, CUSTOMERS_QUERY, sleep=sleep,
                                        max_wait_seconds=max_wait_seconds)
    counts = {"imported": 0, "created": 0}
    if operation.url is None:
        return counts
    customers = (node for node in iter_bulk_results(operation.url)
                 if str(node.get("id", "")).startswith("gid://shopify/Customer/"))
    apply_in_batches(customers, lambda batch: _upsert_batch(app_state, shop_id, batch, counts),
                     lambda: on_progress(counts["imported"], operation.object_count))
    return counts


def apply_in_batches(items: Iterable[T], apply: Callable[[list[T]], None], progress: Callable[[], None]) -> None:
    """``apply`` every BATCH items (one transaction each, so memory stays flat), reporting
    progress after each; the last, partial batch too."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            apply(batch)
            progress()
            batch = []
    apply(batch)
    progress()


def _upsert_batch(app_state, shop_id: int, batch: list[dict], counts: dict) -> None:
    if not batch:
        return
    now = utcnow()
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        for node in batch:
            customer, created = upsert_customer(session, shop, customer_payload(node))
            apply_customer_facts(session, shop, customer, customer_facts_from_node(node), now, "import")
            counts["created"] += int(created)
            counts["imported"] += 1
