"""`embajador import`: backfill a shop's customers from Shopify with one bulk operation.

One bulk query per shop instead of thousands of paginated calls; the JSONL result is
streamed and upserted in batches, so a shop with 500 k customers never sits in memory.
Existing rows are updated in place (the same upsert as customers/update), so a re-run is safe.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from plugin.customers.profiles import upsert_customer
from plugin.models import Shop
from plugin.shopify.bulk_operations import bulk_operation_status, iter_bulk_results, start_bulk_query
from plugin.shopify.gids import parse_gid
from plugin.shops.tokens import admin_client

CUSTOMERS_QUERY = """
{
  customers {
    edges {
      node {
        id email firstName lastName locale updatedAt
        emailMarketingConsent { marketingState consentUpdatedAt }
      }
    }
  }
}
"""
BATCH = 500
POLL_SECONDS = 2.0


class BackfillFailed(Exception):
    pass


def customer_payload(node: dict) -> dict:
    """A bulk (GraphQL) customer in the shape of a customers/update webhook body."""
    consent = node.get("emailMarketingConsent") or {}
    payload = {"id": int(parse_gid(node["id"])[1]), "email": node.get("email"),
               "first_name": node.get("firstName"), "last_name": node.get("lastName"),
               "locale": node.get("locale"), "updated_at": node.get("updatedAt")}
    if consent.get("marketingState"):
        payload["email_marketing_consent"] = {"state": consent["marketingState"].lower(),
                                              "consent_updated_at": consent.get("consentUpdatedAt")}
    return payload


def import_customers(app_state, shop_id: int, *, sleep: Callable[[float], None] = time.sleep,
                     on_progress: Callable[[int, int], None] = lambda done, total: None,
                     max_wait_seconds: float = 3600) -> dict:
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
    client = admin_client(app_state, shop)
    operation = bulk_operation_status(client, start_bulk_query(client, CUSTOMERS_QUERY))
    waited = 0.0
    while not operation.finished:
        if waited > max_wait_seconds:
            raise BackfillFailed(f"bulk operation still {operation.status} after {max_wait_seconds:.0f}s")
        sleep(POLL_SECONDS)
        waited += POLL_SECONDS
        operation = bulk_operation_status(client, operation.id)
    if operation.status != "COMPLETED":
        raise BackfillFailed(f"bulk operation {operation.status.lower()} ({operation.error_code or 'no code'})")
    counts = {"imported": 0, "created": 0}
    if operation.url is None:
        return counts
    batch: list[dict] = []
    for node in iter_bulk_results(operation.url):
        if str(node.get("id", "")).startswith("gid://shopify/Customer/"):
            batch.append(customer_payload(node))
        if len(batch) >= BATCH:
            _upsert_batch(app_state, shop_id, batch, counts)
            on_progress(counts["imported"], operation.object_count)
            batch = []
    _upsert_batch(app_state, shop_id, batch, counts)
    on_progress(counts["imported"], operation.object_count)
    return counts


def _upsert_batch(app_state, shop_id: int, batch: list[dict], counts: dict) -> None:
    if not batch:
        return
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        for payload in batch:
            _, created = upsert_customer(session, shop, payload)
            counts["created"] += int(created)
            counts["imported"] += 1
