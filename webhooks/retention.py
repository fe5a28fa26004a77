"""Payloads are protected customer data: keep them only as long as needed — failed and
dead deliveries too (their reason and attempts stay for the operator, the body goes)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from plugin.models import WebhookDelivery
from plugin.models.inbox import DEAD, FAILED, IGNORED, PROCESSED, UNHANDLED

RETENTION = timedelta(days=14)


def purge_processed_payloads(app_state, now: datetime) -> dict:
    with app_state.db.transaction() as session:
        result = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status.in_((PROCESSED, IGNORED, UNHANDLED, FAILED, DEAD)),
                   WebhookDelivery.processed_at < now - RETENTION, WebhookDelivery.payload.is_not(None))
            .values(payload=None))
    return {"purged": result.rowcount}
