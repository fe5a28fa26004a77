"""Storing a verified delivery: dedupe on (shop, topic, event id) with a unique constraint."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.db import insert_ignoring_conflicts
from plugin.models import Shop, WebhookDelivery
from plugin.models.inbox import FAILED, IGNORED, PENDING

from .topics import COMPLIANCE_TOPICS

SWEEP_AFTER = timedelta(minutes=2)


class MalformedPayload(ValueError):
    """The body verified but is not the JSON object this topic needs."""


@dataclass(frozen=True)
class Delivery:
    shop_domain: str
    topic: str
    raw_body: bytes
    event_id: str | None
    webhook_id: str | None
    api_version: str | None
    triggered_at: datetime | None


@dataclass(frozen=True)
class StoreResult:
    delivery_id: int | None
    created: bool
    status: str


def parse_payload(raw: str | bytes) -> dict:
    """Decimals stay Decimals and big ids stay ints: never a float near money or ids."""
    try:
        payload = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayload(f"body is not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(payload, dict):
        raise MalformedPayload("body is not a JSON object")
    return payload


def dedupe_key(delivery: Delivery) -> str:
    if delivery.event_id:
        return f"event:{delivery.event_id}"
    if delivery.webhook_id:
        return f"webhook:{delivery.webhook_id}"
    return "sha256:" + hashlib.sha256(delivery.raw_body).hexdigest()


def subject_customer_id(topic: str, payload: dict) -> str | None:
    """The Shopify customer a payload is about, so customers/redact can purge it later."""
    if topic.startswith("customers/") and topic not in COMPLIANCE_TOPICS:
        value = payload.get("id")
    else:
        value = (payload.get("customer") or {}).get("id") if isinstance(payload.get("customer"), dict) else None
    return str(value) if isinstance(value, int) else None


def store_delivery(session: Session, delivery: Delivery, now: datetime) -> StoreResult:
    """Insert the delivery once; a duplicate returns created=False and changes nothing."""
    shop = session.execute(select(Shop).where(Shop.domain == delivery.shop_domain)).scalar_one_or_none()
    status, error, customer_id = PENDING, None, None
    try:
        text = delivery.raw_body.decode("utf-8")
        customer_id = subject_customer_id(delivery.topic, parse_payload(text))
    except UnicodeDecodeError:
        text, status, error = None, FAILED, "body is not UTF-8"
    except MalformedPayload as exc:
        status, error = FAILED, str(exc)
    if status == PENDING and _ignored(shop, delivery.topic):
        status, error = IGNORED, "unknown shop" if shop is None else "shop is uninstalled"
    new_id = insert_ignoring_conflicts(session, WebhookDelivery, dict(
        shop_domain=delivery.shop_domain, shop_id=shop.id if shop else None, topic=delivery.topic,
        dedupe_key=dedupe_key(delivery), event_id=delivery.event_id, webhook_id=delivery.webhook_id,
        api_version=delivery.api_version, triggered_at=delivery.triggered_at, received_at=now,
        payload=text, subject_customer_id=customer_id, status=status, attempts=0, last_error=error,
        next_attempt_at=now + SWEEP_AFTER if status == PENDING else None,
        processed_at=None if status == PENDING else now,
    ), ["shop_domain", "topic", "dedupe_key"])
    return StoreResult(delivery_id=new_id, created=new_id is not None, status=status if new_id else "duplicate")


def _ignored(shop: Shop | None, topic: str) -> bool:
    if shop is None:
        return True
    return not shop.installed and topic not in COMPLIANCE_TOPICS
