"""Tick task: read Shopify's abandonedCheckouts to pick up checkouts whose webhooks never came.

Runs at most once an hour per shop (``checkout_syncs.last_run_at``), asks for checkouts
updated since the previous run minus an overlap, and upserts them exactly like a webhook
would (older data never overwrites newer). Shopify is called outside any transaction.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from plugin.db import insert_ignoring_conflicts
from plugin.logs import get_logger
from plugin.models import Shop
from plugin.models.checkouts import CheckoutSync
from plugin.recovery.checkouts import upsert_checkout
from plugin.recovery.facts import CheckoutPayloadError, facts_from_graphql
from plugin.shopify.abandoned_checkouts import fetch_abandoned_checkouts
from plugin.shops.tokens import admin_client

log = get_logger("checkouts.reconcile")
EVERY = timedelta(hours=1)
OVERLAP = timedelta(minutes=10)
FIRST_LOOKBACK = timedelta(days=3)


def _claim_run(app_state, shop_id: int, now: datetime) -> datetime | None:
    """Record this run and return the time to read from; None if the shop ran less than an hour ago."""
    with app_state.db.transaction() as session:
        insert_ignoring_conflicts(session, CheckoutSync, {"shop_id": shop_id, "last_run_at": now - EVERY}, ["shop_id"])
        sync = session.execute(CheckoutSync.for_shop(shop_id).with_for_update()).scalar_one()
        if now - sync.last_run_at < EVERY:
            return None
        sync.last_run_at = now
        if sync.synced_through is None:
            return now - FIRST_LOOKBACK
        return max(sync.synced_through - OVERLAP, now - FIRST_LOOKBACK)


def _finish_run(app_state, shop_id: int, now: datetime, error: str | None) -> None:
    """A failed run keeps the old ``synced_through``, so the next hourly run covers the gap."""
    with app_state.db.transaction() as session:
        sync = session.execute(CheckoutSync.for_shop(shop_id)).scalar_one()
        sync.last_error = error
        if error is None:
            sync.synced_through = now


def reconcile_shop(app_state, shop_id: int, since: datetime, now: datetime) -> int:
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
    # No in-process retries: the next hourly run is the retry.
    nodes = list(fetch_abandoned_checkouts(admin_client(app_state, shop, max_retries=0), since))
    applied = 0
    for node in nodes:
        try:
            facts = facts_from_graphql(node)
        except CheckoutPayloadError:
            continue
        with app_state.db.transaction() as session:
            outcome = upsert_checkout(session, session.get(Shop, shop_id), facts, now, source="reconcile")
            applied += bool(outcome.get("applied"))
    return applied


def reconcile_abandoned_checkouts(app_state, now: datetime) -> dict:
    """Hourly per shop; idempotent (a second run within the hour does nothing)."""
    with app_state.db.transaction() as session:
        shop_ids = list(session.execute(select(Shop.id).where(Shop.installed.is_(True),
                                                              Shop.access_token_enc.is_not(None))).scalars())
    result = {"shops": 0, "checkouts": 0, "errors": 0}
    for shop_id in shop_ids:
        since = _claim_run(app_state, shop_id, now)
        if since is None:
            continue
        result["shops"] += 1
        try:
            result["checkouts"] += reconcile_shop(app_state, shop_id, since, now)
        except Exception as exc:  # noqa: BLE001 - one shop's outage must not stop the others
            result["errors"] += 1
            log.warning("checkout reconciliation failed", extra={"shop_id": shop_id, "error": type(exc).__name__})
            _finish_run(app_state, shop_id, now, f"{type(exc).__name__}: {exc}"[:500])
        else:
            _finish_run(app_state, shop_id, now, None)
    return result
