"""Tick task: once a day per shop, ask Shopify for orders updated since the last run and
award any paid order whose ``orders/paid`` webhook never arrived or died.

A missed order becomes an inbox delivery of its own (topic ``orders/paid``, dedupe key
``reconcile:<order id>``) built from the GraphQL order in the webhook's shape, so it takes
exactly the path a webhook takes: same handler, same idempotency key ``order:<id>:earn``
(a webhook that turns up later changes nothing), same retries and dead letters. Orders
that already have their earn entry are left alone. Shopify is called outside any
transaction; a failed run keeps the old watermark, so the next one covers the gap.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from plugin.db import insert_ignoring_conflicts
from plugin.logs import get_logger
from plugin.loyalty.rules.earning import parse_id
from plugin.loyalty.rules.ledger import earn_key
from plugin.models import LedgerEntry, Shop, WebhookDelivery
from plugin.models.inbox import PENDING
from plugin.shopify.orders import fetch_orders_updated_since
from plugin.shops.tokens import admin_client

log = get_logger("loyalty.order_reconcile")
EVERY = timedelta(days=1)
OVERLAP = timedelta(hours=1)
FIRST_LOOKBACK = timedelta(days=3)
PAID = ("PAID", "PARTIALLY_REFUNDED")
SETTING = "orders_reconcile"
# webhooks.processing.JOB by name: plugin/ may not import the webhook edge (import contract).
PROCESS_JOB = "webhooks.processing.process_delivery_job"


def reconcile_paid_orders(app_state, now: datetime) -> dict:
    """Daily per shop; a second run the same day does nothing."""
    with app_state.db.transaction() as session:
        shop_ids = list(session.execute(select(Shop.id).where(Shop.installed.is_(True),
                                                              Shop.access_token_enc.is_not(None))).scalars())
    runs = [_run_for_shop(app_state, shop_id, now) for shop_id in shop_ids]
    done = [run for run in runs if run is not None]
    return {"shops": len(done), "orders_seen": sum(r[0] for r in done if r[0] >= 0),
            "awarded_late": sum(r[1] for r in done), "errors": sum(1 for r in done if r[0] < 0)}


def _run_for_shop(app_state, shop_id: int, now: datetime) -> tuple[int, int] | None:
    """(orders seen, deliveries queued); (-1, 0) when Shopify failed; None when not due."""
    since = _claim_run(app_state, shop_id, now)
    if since is None:
        return None
    try:
        seen, queued = _reconcile_shop(app_state, shop_id, since, now)
    except Exception as exc:  # noqa: BLE001 - one shop's outage must not stop the others
        log.warning("order reconciliation failed: %s", type(exc).__name__, extra={"shop": str(shop_id)})
        _finish_run(app_state, shop_id, None)
        return -1, 0
    _finish_run(app_state, shop_id, now)
    return seen, queued


def _claim_run(app_state, shop_id: int, now: datetime) -> datetime | None:
    """Record this run under the shop's row lock; the time to read from, or None if it ran today."""
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.id == shop_id).with_for_update()).scalar_one()
        state = dict((shop.settings or {}).get(SETTING) or {})
        last_run = _parse(state.get("last_run_at"))
        if last_run is not None and now - last_run < EVERY:
            return None
        state["last_run_at"] = now.isoformat()
        shop.settings = {**(shop.settings or {}), SETTING: state}
        through = _parse(state.get("synced_through"))
        return max(through - OVERLAP, now - FIRST_LOOKBACK) if through else now - FIRST_LOOKBACK


def _finish_run(app_state, shop_id: int, synced_through: datetime | None) -> None:
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.id == shop_id).with_for_update()).scalar_one()
        state = dict((shop.settings or {}).get(SETTING) or {})
        state["last_error"] = None if synced_through else "the last run failed; the next covers the gap"
        if synced_through is not None:
            state["synced_through"] = synced_through.isoformat()
        shop.settings = {**(shop.settings or {}), SETTING: state}


def _reconcile_shop(app_state, shop_id: int, since: datetime, now: datetime) -> tuple[int, int]:
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
    # No in-process retries: tomorrow's run is the retry.
    nodes = list(fetch_orders_updated_since(admin_client(app_state, shop, max_retries=0), since))
    queued = []
    with app_state.db.transaction() as session:
        for node in nodes:
            order_id = parse_id(node.get("id"))
            if order_id is None or not _needs_award(session, shop_id, order_id, node):
                continue
            delivery_id = insert_ignoring_conflicts(session, WebhookDelivery, {
                "shop_domain": shop.domain, "shop_id": shop_id, "topic": "orders/paid",
                "dedupe_key": f"reconcile:{order_id}", "received_at": now, "status": PENDING, "attempts": 0,
                "payload": json.dumps(order_payload(node)), "next_attempt_at": now,
                "subject_customer_id": parse_id((node.get("customer") or {}).get("id"))},
                ["shop_domain", "topic", "dedupe_key"])
            if delivery_id is not None:
                queued.append(delivery_id)
    for delivery_id in queued:
        app_state.queue.enqueue(PROCESS_JOB, delivery_id, job_id=f"delivery-{delivery_id}-0")
    if queued:
        log.info("paid orders without points found by reconciliation", extra={"shop": shop.domain,
                                                                              "status": f"{len(queued)} queued"})
    return len(nodes), len(queued)


def _needs_award(session, shop_id: int, order_id: str, node: dict[str, Any]) -> bool:
    if node.get("displayFinancialStatus") not in PAID or node.get("cancelledAt"):
        return False
    if (node.get("lineItems") or {}).get("pageInfo", {}).get("hasNextPage"):
        log.warning("order has more line items than one page; left to its webhook", extra={"status": order_id})
        return False
    earned = session.execute(select(LedgerEntry.id).where(LedgerEntry.shop_id == shop_id,
                                                          LedgerEntry.key == earn_key(order_id))).first()
    return earned is None


def _rest_money(money_set: dict[str, Any] | None) -> dict[str, Any]:
    money_set = money_set or {}
    return {side: {"amount": str((money_set.get(key) or {}).get("amount")),
                   "currency_code": (money_set.get(key) or {}).get("currencyCode")}
            for side, key in (("shop_money", "shopMoney"), ("presentment_money", "presentmentMoney"))}


def order_payload(node: dict[str, Any]) -> dict[str, Any]:
    """The GraphQL order in the ``orders/paid`` webhook's (REST) shape, only fields that
    webhook carries, so the one handler reads both."""
    customer = node.get("customer") or None
    subtotal = _rest_money(node.get("subtotalPriceSet"))
    lines = []
    for line in (node.get("lineItems") or {}).get("nodes") or []:
        price = _rest_money(line.get("originalUnitPriceSet"))
        lines.append({"gift_card": bool(line.get("isGiftCard")), "quantity": line.get("quantity") or 0,
                      "price": price["shop_money"]["amount"], "price_set": price, "tax_lines": [],
                      "discount_allocations": [{"amount": a["shop_money"]["amount"], "amount_set": a}
                                               for a in (_rest_money(d.get("allocatedAmountSet"))
                                                         for d in line.get("discountAllocations") or [])]})
    return {
        "id": int(parse_id(node["id"])), "admin_graphql_api_id": node["id"], "name": node.get("name"),
        "email": node.get("email"), "created_at": node.get("createdAt"), "processed_at": node.get("processedAt"),
        "updated_at": node.get("updatedAt"), "cancelled_at": node.get("cancelledAt"), "financial_status": "paid",
        "taxes_included": bool(node.get("taxesIncluded")), "test": bool(node.get("test")),
        "source_name": node.get("sourceName"), "customer_locale": node.get("customerLocale"),
        "subtotal_price": subtotal["shop_money"]["amount"], "subtotal_price_set": subtotal,
        "currency": subtotal["shop_money"]["currency_code"],
        "discount_codes": [{"code": code} for code in node.get("discountCodes") or []],
        "note_attributes": [{"name": a.get("key"), "value": a.get("value")}
                            for a in node.get("customAttributes") or []],
        "customer": ({"id": int(parse_id(customer["id"])), "email": customer.get("email")} if customer else None),
        "line_items": lines,
    }


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
