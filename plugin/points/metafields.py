"""Tick task: copy points and tier onto Shopify customer metafields (Liquid, Flow).

Customers changed since the shop's last successful sync (``settings.metafields_synced_at``)
go out through ``metafieldsSet`` in batches of 25 via the one Admin client, which waits
on Shopify's throttle. A failure leaves the mark where it was, so the next tick retries.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from plugin.logs import get_logger
from plugin.models import Customer, Shop
from plugin.shopify.gids import customer_gid
from plugin.shopify.metafields import MetafieldInput, set_customer_metafields

log = get_logger("points.metafields")
NAMESPACE = "embajador"
MAX_CUSTOMERS_PER_TICK = 2000


def metafields_for(customer: Customer) -> list[MetafieldInput]:
    owner = customer_gid(customer.shopify_id)
    return [MetafieldInput(owner, NAMESPACE, "points", "number_integer", str(customer.points_available)),
            MetafieldInput(owner, NAMESPACE, "points_pending", "number_integer", str(customer.points_pending)),
            MetafieldInput(owner, NAMESPACE, "tier", "single_line_text_field", customer.tier_name or "")]


def sync_shop(app_state, shop_id: int, now: datetime) -> int:
    from plugin.shops import admin_client
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        mark = (shop.settings or {}).get("metafields_synced_at")
        query = select(Customer).where(Customer.shop_id == shop_id, Customer.shopify_id.is_not(None),
                                       Customer.redacted_at.is_(None))
        if mark:
            query = query.where(Customer.updated_at > datetime.fromisoformat(mark))
        customers = session.execute(query.order_by(Customer.updated_at).limit(MAX_CUSTOMERS_PER_TICK)).scalars().all()
    if not customers:
        return 0
    items = [m for c in customers for m in metafields_for(c) if m.value != ""]
    # One retry only: the next tick is the real retry, and a tick must not stall on one shop.
    set_customer_metafields(admin_client(app_state, shop, max_retries=1), items)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        shop.settings = dict(shop.settings or {}, metafields_synced_at=customers[-1].updated_at.isoformat())
    return len(customers)


def sync_metafields(app_state, now: datetime) -> dict:
    """Tick task (idempotent: a synced customer is not sent again until it changes)."""
    synced, failed = 0, []
    with app_state.db.transaction() as session:
        shop_ids = session.execute(select(Shop.id).where(Shop.installed.is_(True),
                                                         Shop.access_token_enc.is_not(None))).scalars().all()
    for shop_id in shop_ids:
        try:
            synced += sync_shop(app_state, shop_id, now)
        except Exception as exc:  # one shop's outage must not stop the others; retried next tick
            log.warning("metafields sync failed: %s", type(exc).__name__, extra={"shop_id": shop_id})
            failed.append(shop_id)
    return {"customers": synced, "failed_shops": len(failed)}
