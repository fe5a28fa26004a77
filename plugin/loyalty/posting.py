"""Posting an entry plus what every balance change implies (reward thresholds).

Callers hold the customer row lock; this is ``post_entry`` with the consequences.
"""
from __future__ import annotations

from datetime import datetime

from plugin.loyalty.balances import EarnDetails, post_entry
from plugin.loyalty.reward_alerts import note_crossings
from plugin.loyalty.rules.ledger import Entry
from plugin.loyalty.rules.program import Program
from plugin.models import Customer


def post(session, program: Program, customer: Customer, entry: Entry, *, reason: str, source: str,
         occurred_at: datetime, details: EarnDetails | None = None) -> int | None:
    """Insert ``entry`` once; when new and it raised the available balance, note reward crossings."""
    before = customer.points_available
    new_id = post_entry(session, customer, entry, reason=reason, source=source, occurred_at=occurred_at,
                        details=details)
    if new_id is not None and entry.available > 0:
        note_crossings(session, program, customer, before, new_id, occurred_at)
    return new_id
