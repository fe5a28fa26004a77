"""Recording SendGrid Event Webhook events against our outbox rows (by the message_id we
put in custom_args), once per sg_event_id, and acting on the ones that matter: hard
bounces and spam reports suppress the address, unsubscribes withdraw marketing consent,
and any sign of life confirms a row a crash left as 'sending'/'unknown'."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from emails.sendgrid.event_signature import Event
from plugin.db import insert_ignoring_conflicts
from plugin.models import Customer, EmailEvent, EmailSuppression, OutboxMessage, Shop
from plugin.models.email import SENDING, SENT, UNKNOWN

CONFIRMS_SENT = {"processed", "delivered", "open", "click", "deferred", "bounce", "dropped", "spamreport",
                 "unsubscribe", "group_unsubscribe", "group_resubscribe"}
UNSUBSCRIBES = {"unsubscribe", "group_unsubscribe"}


def _event_key(event: Event) -> str:
    if event.sg_event_id:
        return event.sg_event_id[:128]
    return "sha256:" + hashlib.sha256(json.dumps(event.raw, sort_keys=True).encode()).hexdigest()


def _row_for(session: Session, event: Event) -> OutboxMessage | None:
    if not event.message_id:
        return None
    query = select(OutboxMessage).where(OutboxMessage.message_id == event.message_id[:32])
    if event.shop:
        query = query.join(Shop, Shop.id == OutboxMessage.shop_id).where(Shop.domain == event.shop)
    return session.execute(query.limit(1)).scalar_one_or_none()


def record_events(session: Session, events: list[Event]) -> dict:
    """Store each event once; returns counts of stored and duplicate events."""
    stored = duplicates = 0
    for event in events:
        row = _row_for(session, event)
        shop_id = row.shop_id if row else _shop_id(session, event.shop)
        occurred = datetime.fromtimestamp(event.timestamp, UTC) if event.timestamp else None
        new_id = insert_ignoring_conflicts(session, EmailEvent, dict(
            sg_event_id=_event_key(event), shop_id=shop_id, outbox_id=row.id if row else None,
            message_id=event.message_id and event.message_id[:64], event=event.type[:32] or "unknown",
            detail={k: v for k, v in (("reason", event.reason), ("bounce_type", event.bounce_type),
                                      ("url", event.url), ("sg_message_id", event.sg_message_id),
                                      ("asm_group_id", event.asm_group_id)) if v is not None},
            occurred_at=occurred), ["sg_event_id"])
        if new_id is None:
            duplicates += 1
            continue
        stored += 1
        _apply(session, event, row, shop_id)  # an unsubscribe reaches Shopify through the tick
    return {"stored": stored, "duplicates": duplicates}


def _shop_id(session: Session, domain: str | None) -> int | None:
    if not domain:
        return None
    return session.execute(select(Shop.id).where(Shop.domain == domain)).scalar()


def _apply(session: Session, event: Event, row: OutboxMessage | None, shop_id: int | None) -> bool:
    """Record the event's effect; True when it withdrew someone's consent."""
    if row is not None:
        row.last_event = event.type[:32]
        if row.status in (SENDING, UNKNOWN) and event.type in CONFIRMS_SENT:
            row.status, row.reason = SENT, None
    if shop_id is None or not event.email:
        return False
    email = event.email.strip().lower()
    if (event.type == "bounce" and event.bounce_type != "blocked") or event.type == "spamreport":
        insert_ignoring_conflicts(session, EmailSuppression, dict(
            shop_id=shop_id, email=email, reason="bounced" if event.type == "bounce" else "spam_report"),
            ["shop_id", "email"])
    if event.type in UNSUBSCRIBES or event.type == "spamreport":  # a spam report withdraws consent too
        return unsubscribe(session, shop_id, row.customer_id if row else None, email, event.timestamp) > 0
    return False


def unsubscribe(session: Session, shop_id: int, customer_id: int | None, email: str | None, ts=None) -> int:
    """Withdraw marketing consent (the customer row, or every customer with that address).

    The change is marked to be written back to Shopify (``consent_push_pending_at``); the
    consent service pushes it (a job right after commit, and the tick for anything left)."""
    when = datetime.fromtimestamp(ts, UTC) if ts else datetime.now(UTC)
    query = update(Customer).where(Customer.shop_id == shop_id, Customer.redacted_at.is_(None))
    query = query.where(Customer.id == customer_id) if customer_id else query.where(Customer.email == email)
    result = cast(CursorResult[Any], session.execute(query.values(
        marketing_state="UNSUBSCRIBED", marketing_state_updated_at=when, consent_push_pending_at=when)))
    return result.rowcount or 0


PUSH_CONSENT_JOB = "plugin.shops.customer_sync.push_pending_consents_job"


def enqueue_consent_push(queue, shop_id: int, at: datetime) -> None:
    """After commit: write pending unsubscribes of the shop back to Shopify soon (the tick
    catches whatever this misses)."""
    queue.enqueue(PUSH_CONSENT_JOB, shop_id, job_id=f"consent-push-{shop_id}-{int(at.timestamp())}")
