"""Posting ledger entries exactly once and keeping the cached balance honest.

``post_entry`` locks the customer row, inserts with ON CONFLICT DO NOTHING on
(shop, key), and only when the row was new adds the deltas to the cached balance — in the
same transaction. So a replay changes nothing, two concurrent posts serialise on the lock,
and ``rebuild_balance``/``balance_drift`` can always prove cache == sum(entries).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.db import insert_ignoring_conflicts, lock_row
from plugin.loyalty.metafield_sync import note_ledger_change
from plugin.loyalty.rules.ledger import Balance, Entry
from plugin.models import Customer, CustomerEvent, LedgerEntry
from plugin.outbound.outbox import emit_points_changed
from plugin.rollups.store import ledger_entry_added


@dataclass(frozen=True)
class EarnDetails:
    """The rate an earn was made at, stored so a later clawback uses it."""

    order_id: str | None = None
    base_amount: Decimal | None = None
    currency: str | None = None
    per_amount: Decimal | None = None
    points_per: int | None = None
    multiplier: Decimal | None = None
    available_at: datetime | None = None


def lock_customer(session: Session, customer_id: int) -> Customer:
    customer = lock_row(session, Customer, customer_id)
    if customer is None:
        raise LookupError(f"customer {customer_id} does not exist")
    return customer


def post_entry(session: Session, customer: Customer, entry: Entry, *, reason: str, source: str,
               occurred_at: datetime, details: EarnDetails | None = None) -> int | None:
    """Insert ``entry`` for ``customer`` once; returns the new row id, or None if the key existed.

    The caller must hold the customer row lock (``lock_customer``) for the whole unit of work.
    """
    details = details or EarnDetails()
    new_id = insert_ignoring_conflicts(session, LedgerEntry, dict(
        shop_id=customer.shop_id, customer_id=customer.id, key=entry.key, kind=entry.kind,
        available=entry.available, pending=entry.pending, ref=entry.ref, reason=reason[:500], source=source[:64],
        order_id=details.order_id, base_amount=details.base_amount, currency=details.currency,
        per_amount=details.per_amount, points_per=details.points_per, multiplier=details.multiplier,
        available_at=details.available_at, occurred_at=occurred_at,
    ), ["shop_id", "key"])
    if new_id is not None:
        note_ledger_change(session, customer.id, new_id, source)
        ledger_entry_added(session, customer.shop_id, customer.shopify_id, entry.kind, entry.available, entry.pending,
                           occurred_at, customer.tier_name)  # analytics rollups: points per month, membership
        customer.points_available += entry.available
        customer.points_pending += entry.pending
        if entry.kind in ("earn", "redeem", "action", "referral", "adjust", "tier_bonus"):
            customer.last_activity_at = max(filter(None, (customer.last_activity_at, occurred_at)))
        emit_points_changed(session, customer, new_id, entry.kind, entry.available, entry.pending, reason[:500],
                            occurred_at)
    return new_id


def ledger_balance(session: Session, customer_id: int) -> Balance:
    row = session.execute(select(func.coalesce(func.sum(LedgerEntry.available), 0),
                                 func.coalesce(func.sum(LedgerEntry.pending), 0))
                          .where(LedgerEntry.customer_id == customer_id)).one()
    return Balance(available=int(row[0]), pending=int(row[1]))


def balance_drift(session: Session, customer: Customer) -> Balance:
    """Cached minus ledger; zero when the cache is right."""
    truth = ledger_balance(session, customer.id)
    return Balance(available=customer.points_available - truth.available, pending=customer.points_pending - truth.pending)


def rebuild_balance(session: Session, customer: Customer) -> Balance:
    """Reset the cache from the ledger (operators' repair; the ledger is the truth)."""
    truth = ledger_balance(session, customer.id)
    customer.points_available, customer.points_pending = truth.available, truth.pending
    return truth


def record_event(session: Session, shop_id: int, customer_id: int | None, kind: str, key: str,
                 occurred_at: datetime, data: dict | None = None, about_customer_id: int | None = None) -> int | None:
    """Record a domain event once per key (emails react to these); returns its id if new.
    ``about_customer_id``: someone else the data mentions (so their redaction reaches it)."""
    return insert_ignoring_conflicts(session, CustomerEvent, dict(
        shop_id=shop_id, customer_id=customer_id, kind=kind, key=key[:200], data=data or {},
        occurred_at=occurred_at, handled_at=None, about_customer_id=about_customer_id), ["shop_id", "key"])
