"""The recovery series as pure decisions: when each step is due, whether to send it now,
and which step an order is credited to. No database, no clock: values in, decisions out.

Re-basing: every step is due ``delay`` after the checkout's latest ``updated_at``. When the
shopper comes back and the checkout changes, the steps not sent yet move with it (they
remind about the cart as it is now, counted from the shopper's last activity); steps
already sent stay sent.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

ATTRIBUTION_WINDOW = timedelta(days=7)
# A step this late (tick down for days, or a checkout learned long after the fact) is
# skipped rather than sent out of the blue.
STALE_AFTER = timedelta(days=2)


@dataclass(frozen=True)
class SendFacts:
    """What the send decision needs about a checkout, read at send time."""

    purchased: bool
    email: str | None
    has_items: bool
    consent_state: str | None
    later_step_due: bool
    items_known: bool = True  # False: learned from reconciliation without its lines


@dataclass(frozen=True)
class Decision:
    action: str            # send | skip | cancel
    reason: str | None = None


def plan_steps(base_at: datetime, delays: Sequence[timedelta]) -> list[tuple[int, datetime]]:
    """(step number from 1, due_at) for each configured delay after ``base_at``."""
    return [(n, base_at + delay) for n, delay in enumerate(delays, start=1)]


def decide_send(facts: SendFacts, due_at: datetime, now: datetime) -> Decision:
    """Exit conditions, checked in the order a merchant would explain them."""
    if facts.purchased:
        return Decision("cancel", "purchased")
    if not facts.email:
        return Decision("skip", "no_email")
    if not facts.items_known:
        return Decision("skip", "cart_unknown")
    if not facts.has_items:
        return Decision("skip", "cart_emptied")
    if (facts.consent_state or "").upper() != "SUBSCRIBED":
        return Decision("skip", "no_consent")
    if facts.later_step_due:
        return Decision("skip", "superseded")
    if now - due_at > STALE_AFTER:
        return Decision("skip", "stale")
    return Decision("send")


def credited_step(order_at: datetime, sent: Sequence[tuple[int, datetime]], *, used_incentive_step: int | None = None,
                  window: timedelta = ATTRIBUTION_WINDOW) -> int | None:
    """The step an order is credited to: the incentive step whose code it used, else the
    latest step sent before the order and within ``window`` of it; None = not a recovery."""
    if used_incentive_step is not None and any(n == used_incentive_step for n, _ in sent):
        return used_incentive_step
    before = [(at, n) for n, at in sent if at <= order_at and order_at - at <= window]
    return max(before)[1] if before else None
