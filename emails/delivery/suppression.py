"""Whether a message may go now: consent, redaction, the suppression list (bounces, spam
reports) and the marketing frequency cap. One rule for queue time, the single sender and
the batch sender."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from emails.delivery.settings import EmailSettings
from plugin.models import Customer, EmailSuppression, OutboxMessage, Shop
from plugin.models.email import OUTBOX, QUEUED, SENDING, SENT, SUPPRESSED, UNKNOWN

COUNTS_FOR_CAP = (SENT, SENDING, OUTBOX, UNKNOWN)


def suppression_reason(session: Session, shop: Shop, customer: Customer | None, to_email: str | None,
                       marketing: bool, at: datetime, settings: EmailSettings,
                       exclude_id: int | None = None, flow: str | None = None) -> str | None:
    """Why this message may not go now, or None. Shared by queue and send time.
    ``flow`` None skips the flow's on/off switch (a test send to the merchant)."""
    if not shop.installed:
        return SHOP_UNINSTALLED
    if flow is not None and not settings.flow_enabled(flow):
        return FLOW_OFF

    def blocked(email: str) -> str | None:
        return session.execute(select(EmailSuppression.reason).where(
            EmailSuppression.shop_id == shop.id, EmailSuppression.email == email)).scalar()

    return decide_suppression(customer, to_email, marketing, flow, blocked,
                              lambda: cap_reached(session, customer.id, at, settings, exclude_id))


def decide_suppression(customer: Customer | None, to_email: str | None, marketing: bool, flow: str | None,
                       blocked, cap_hit) -> str | None:
    """The rule, with the lookups passed in (``blocked(email)``, ``cap_hit()``) so the batch
    sender can answer them from one query per batch."""
    if customer is not None and customer.redacted_at is not None:
        return "redacted"
    if not to_email:
        return "no_address"
    if marketing and (customer is None or customer.marketing_state != "SUBSCRIBED"):
        return "no_consent"
    reason = blocked(to_email.strip().lower())
    if reason:
        return reason
    if marketing and customer is not None and flow not in SERIES_FOLLOW_UPS and cap_hit():
        return "frequency_cap"
    return None


# Nothing leaves for a shop that uninstalled the app (app/uninstalled), whatever was queued.
SHOP_UNINSTALLED = "shop_uninstalled"
# The merchant switched the flow off (admin Emails page): queued rows stay, kept with this reason.
FLOW_OFF = "flow_off"


def suppress_queued_for_uninstalled_shop(session: Session, shop_id: int) -> int:
    """app/uninstalled: every queued row becomes ``suppressed`` with the reason, so a reinstall
    never sends stale mail. Returns the count."""
    result = cast(CursorResult[Any], session.execute(
        update(OutboxMessage).where(OutboxMessage.shop_id == shop_id, OutboxMessage.status == QUEUED)
        .values(status=SUPPRESSED, reason=SHOP_UNINSTALLED)))
    return result.rowcount or 0


# Later steps of a series the shopper started (and the merchant configured) are not held
# back by the cap; they still count against it for every other marketing flow.
SERIES_FOLLOW_UPS = frozenset({"abandoned_checkout_2", "abandoned_checkout_3"})


def cap_reached(session: Session, customer_id: int, at: datetime, settings: EmailSettings,
                exclude_id: int | None = None) -> bool:
    since = at - timedelta(hours=settings.frequency_window_hours)
    query = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.customer_id == customer_id, OutboxMessage.marketing.is_(True),
        OutboxMessage.status.in_(COUNTS_FOR_CAP),
        func.coalesce(OutboxMessage.sent_at, OutboxMessage.claimed_at) > since)
    if exclude_id is not None:
        query = query.where(OutboxMessage.id != exclude_id)
    return session.execute(query).scalar_one() >= settings.frequency_cap
