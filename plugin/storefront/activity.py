"""What the widget shows of the ledger: the last entries and when pending points release."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
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
    rows = session.execute(
        select(LedgerEntry.kind, LedgerEntry.key, LedgerEntry.available, LedgerEntry.pending,
               LedgerEntry.occurred_at, LedgerEntry.available_at)
        .where(LedgerEntry.shop_id == customer.shop_id, LedgerEntry.customer_id == customer.id,
               LedgerEntry.kind.not_in(_HIDDEN_KINDS))
        .order_by(LedgerEntry.occurred_at.desc(), LedgerEntry.id.desc()).limit(limit))
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
    return session.execute(
        select(func.min(LedgerEntry.available_at))
        .where(LedgerEntry.shop_id == customer.shop_id, LedgerEntry.customer_id == customer.id,
               LedgerEntry.pending > 0, LedgerEntry.available_at > now)).scalar_one_or_none()


def _action(key: str) -> str | None:
    match = _ACTION.search(key)
    return match.group(1) if match else None
