"""Tick task: pending points whose refund window is over become available.

One transaction per entry under the customer lock; the release key (``<earn key>:release``)
makes a second tick at the same instant a no-op. Emits ``points_earned`` for orders.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from plugin.loyalty.balances import lock_customer, record_event
from plugin.loyalty.order_notes import find_order
from plugin.loyalty.posting import post
from plugin.loyalty.rules.ledger import Entry, release_key
from plugin.loyalty.status import shop_program
from plugin.models import LedgerEntry, Shop


def due_releases(session, shop_id: int, now: datetime, limit: int = 1000) -> list[int]:
    """Per shop, so the (shop_id, kind, available_at) index answers it."""
    released = aliased(LedgerEntry)
    query = (select(LedgerEntry.id)
             .where(LedgerEntry.shop_id == shop_id, LedgerEntry.kind.in_(("earn", "referral")),
                    LedgerEntry.available_at <= now,
                    LedgerEntry.pending > 0)
             .where(~select(released.id).where(and_(released.shop_id == LedgerEntry.shop_id,
                                                    released.key == LedgerEntry.key + ":release"))
                    .exists())
             .order_by(LedgerEntry.id).limit(limit))
    return session.execute(query).scalars().all()


def release_one(session, entry_id: int, now: datetime) -> int:
    """Release what is still pending of one earn/referral entry; returns the points released."""
    earn = session.get(LedgerEntry, entry_id)
    customer = lock_customer(session, earn.customer_id)
    remaining = session.execute(select(func.coalesce(func.sum(LedgerEntry.pending), 0)).where(
        LedgerEntry.customer_id == earn.customer_id,  # the customer's index, not a shop-wide scan
        (LedgerEntry.key == earn.key) | (LedgerEntry.ref == earn.key))).scalar_one()
    if remaining <= 0:
        return 0
    shop = session.get(Shop, earn.shop_id)
    program = shop_program(shop)
    new_id = post(session, program, customer, Entry(release_key(earn.key), "release", available=int(remaining),
                                                     pending=-int(remaining), ref=earn.key),
                  reason="refund window over: points now spendable", source="schedule", occurred_at=now)
    if new_id and earn.kind == "earn":
        order = find_order(session, earn.shop_id, earn.order_id)
        record_event(session, earn.shop_id, customer.id, "points_earned", f"{earn.key}:points_earned", now,
                     {"points_earned": int(remaining), "order_name": order.name if order else None,
                      "order_id": earn.order_id})
    return int(remaining) if new_id else 0


def release_pending_points(app_state, now: datetime) -> dict:
    """Tick task (idempotent)."""
    released = points = 0
    with app_state.db.transaction() as session:
        shop_ids = session.execute(select(Shop.id).where(Shop.installed.is_(True))).scalars().all()
        due = [entry_id for shop_id in shop_ids for entry_id in due_releases(session, shop_id, now)]
    for entry_id in due:
        with app_state.db.transaction() as session:
            moved = release_one(session, entry_id, now)
        released += 1 if moved else 0
        points += moved
    return {"released": released, "points": points}
