"""Points expiry after inactivity, and the reminders that make it a reason to come back.

The clock restarts on every activity the caller counts (an earn or a redemption).
Reminders go ``warn_days_before`` the expiry; the smallest of them is the
"last chance". When several thresholds have passed at once (a tick was missed,
or activity was recorded late) only the most urgent one is due: nobody wants
"30 days left" and "7 days left" in the same minute.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from plugin.loyalty.rules.ledger import key_part
from plugin.loyalty.rules.program import Program


@dataclass(frozen=True)
class ExpiryWarning:
    days_before: int
    kind: str  # "expiry_warning" | "expiry_last_chance" (the email flow)
    expires_at: datetime


def expiry_at(last_activity_at: datetime, inactive_days: int) -> datetime:
    return last_activity_at + timedelta(days=inactive_days)


def is_expired(last_activity_at: datetime | None, program: Program, now: datetime) -> bool:
    """True once ``inactive_days`` have passed with no activity (never without expiry)."""
    if program.expiry is None or last_activity_at is None:
        return False
    return now >= expiry_at(last_activity_at, program.expiry.inactive_days)


def due_warnings(last_activity_at: datetime | None, program: Program, now: datetime) -> list[ExpiryWarning]:
    """The reminder due at ``now`` (at most one), empty before the first or after expiry."""
    if program.expiry is None or last_activity_at is None or not program.expiry.warn_days_before:
        return []
    expires = expiry_at(last_activity_at, program.expiry.inactive_days)
    if now >= expires:
        return []
    last_chance = min(program.expiry.warn_days_before)
    passed = [d for d in program.expiry.warn_days_before if now >= expires - timedelta(days=d)]
    if not passed:
        return []
    days = min(passed)
    kind = "expiry_last_chance" if days == last_chance else "expiry_warning"
    return [ExpiryWarning(days, kind, expires)]


def warning_key(customer_id: int | str, last_activity_at: datetime, days_before: int) -> str:
    """Idempotency key for one reminder; new activity starts a new series."""
    return f"customer:{key_part(customer_id)}:expiry_warning:{last_activity_at.isoformat()}:{days_before}"
