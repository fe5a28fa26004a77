"""What the widget shows of the ledger: the last entries and when pending points release."""
from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, literal_column, select
from sqlalchemy.orm import Session

from plugin.models import Customer, LedgerEntry

ACTIVITY_LIMIT = 5
# ``release`` only moves points from pending to available: the earn entry already shows them.
_HIDDEN_KINDS = ("release",)
_ACTION = re.compile(r":action:([A-Za-z0-9_-]+):")


def recent_activity(session: Session, customer: Customer, now: datetime,
                    limit: int = ACTIVITY_LIMIT) -> list[dict[str, Any]]:
    """The customer's last ``limit`` ledger entries, newest first, without internal details;
    ``available_at`` is set while the entry's points are still pending."""
    rows = session.execute(_recent_query(limit), {"shop_id": customer.shop_id, "customer_id": customer.id})
    return [{"kind": row.kind, "action": _action(row.key) if row.kind == "action" else None,
             "points": row.available + row.pending, "at": row.occurred_at.isoformat(),
             "available_at": _still_pending(row.pending, row.available_at, now)}
            for row in rows]


def _still_pending(pending: int, available_at: datetime | None, now: datetime) -> str | None:
    return available_at.isoformat() if pending > 0 and available_at is not None and available_at > now else None


def next_release_at(session: Session, customer: Customer, now: datetime) -> datetime | None:
    """When the customer's next pending points become available (None without pending points)."""
    if customer.points_pending <= 0:
        return None
    return session.execute(_NEXT_RELEASE, {"shop_id": customer.shop_id, "customer_id": customer.id,
                                           "now": now}).scalar_one_or_none()


# Both statements are built once (the widget asks on every page view): building a select()
# and its cache key per call cost about as much CPU as running it (bench/RESULTS.md).
@lru_cache(maxsize=4)
def _recent_query(limit: int):
    return (select(LedgerEntry.kind, LedgerEntry.key, LedgerEntry.available, LedgerEntry.pending,
                   LedgerEntry.occurred_at, LedgerEntry.available_at)
            .where(LedgerEntry.shop_id == bindparam("shop_id"), LedgerEntry.customer_id == bindparam("customer_id"),
                   LedgerEntry.kind.not_in(_HIDDEN_KINDS))
            .order_by(LedgerEntry.occurred_at.desc(), LedgerEntry.id.desc()).limit(limit))


_NEXT_RELEASE = (
    select(func.min(LedgerEntry.available_at))
    .where(LedgerEntry.shop_id == bindparam("shop_id"), LedgerEntry.customer_id == bindparam("customer_id"),
           # A literal 0, not a bound parameter: the partial index ix_ledger_entries_customer_pending
           # (WHERE pending > 0) must match the plan psycopg prepares after five executions,
           # which cannot look at parameter values.
           LedgerEntry.pending > literal_column("0"),
           LedgerEntry.available_at > bindparam("now", type_=LedgerEntry.available_at.type)))


def _action(key: str) -> str | None:
    match = _ACTION.search(key)
    return match.group(1) if match else None
