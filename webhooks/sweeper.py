"""Re-enqueue inbox rows that are still pending past their deadline (Redis lost the job,
the worker died, or a retry is due). Runs from ``tick``; harmless to run twice."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from plugin.jobs.queue import InlineQueue
from plugin.models import WebhookDelivery
from plugin.models.inbox import PENDING
from webhooks.inbox import SWEEP_AFTER
from webhooks.processing import enqueue_delivery, process_delivery

BATCH = 500


def sweep_inbox(app_state, now: datetime) -> dict:
    """Returns how many deliveries were handed to a worker (or processed inline)."""
    with app_state.db.transaction() as session:
        rows = session.execute(
            select(WebhookDelivery.id, WebhookDelivery.attempts)
            .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.id).limit(BATCH)
        ).all()
        for delivery_id, _ in rows:
            session.get(WebhookDelivery, delivery_id).next_attempt_at = now + SWEEP_AFTER
    if isinstance(app_state.queue, InlineQueue):
        for delivery_id, _ in rows:
            process_delivery(app_state, delivery_id, now=now)
    else:
        for delivery_id, attempts in rows:
            enqueue_delivery(app_state.queue, delivery_id, attempts, unless_waiting=True)
    return {"redelivered": len(rows)}
