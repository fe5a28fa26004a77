"""SendGrid Event Webhook: check the ECDSA signature over the exact bytes we
received, then turn the JSON array into events we can attribute to our
messages through the custom_args we sent (shop, flow, message_id)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sendgrid.helpers.eventwebhook import EventWebhook

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


def verify_event_signature(public_key_b64: str, raw_body: bytes, signature: str | None,
                           timestamp: str | None) -> bool:
    """True only for a body signed by the key's owner. Any malformed input
    (missing header, bad base64, bad key, body not UTF-8) is False, never an
    exception: the endpoint answers 401/403 instead of 500."""
    if not (public_key_b64 and signature and timestamp) or raw_body is None:
        return False
    try:
        # The SDK signs timestamp + payload as str; decode so the bytes round-trip exactly.
        payload = raw_body.decode("utf-8") if isinstance(raw_body, (bytes, bytearray)) else raw_body
        return bool(EventWebhook(public_key_b64).verify_signature(payload, signature, timestamp))
    except Exception:  # deny on anything odd (bad key type, bad DER...): never a 500
        return False


@dataclass(frozen=True)
class Event:
    """One SendGrid event, with our attribution (``message_id``, ``shop``,
    ``flow`` are the custom_args we sent; None for mail we did not tag)."""

    type: str
    email: str | None
    message_id: str | None
    sg_event_id: str | None
    sg_message_id: str | None
    timestamp: int | None
    reason: str | None
    bounce_type: str | None
    asm_group_id: int | None
    shop: str | None
    flow: str | None
    url: str | None
    raw: dict


class EventPayloadError(ValueError):
    """The body is not a JSON array of event objects."""


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _event(item: dict) -> Event:
    return Event(
        type=str(item.get("event") or ""),
        email=_str_or_none(item.get("email")),
        message_id=_str_or_none(item.get("message_id")),
        sg_event_id=_str_or_none(item.get("sg_event_id")),
        sg_message_id=_str_or_none(item.get("sg_message_id")),
        timestamp=_int_or_none(item.get("timestamp")),
        reason=_str_or_none(item.get("reason")),
        # "bounce" (hard) or "blocked" (soft)
        bounce_type=_str_or_none(item.get("type")) if item.get("event") == "bounce" else None,
        asm_group_id=_int_or_none(item.get("asm_group_id")),
        shop=_str_or_none(item.get("shop")),
        flow=_str_or_none(item.get("flow")),
        url=_str_or_none(item.get("url")),
        raw=item,
    )


def parse_events(raw_body: bytes | str) -> list[Event]:
    """Events from a (verified) Event Webhook body. SendGrid flattens our
    custom_args into each event object, so they are read from the top level."""
    try:
        data = json.loads(raw_body)
    except (ValueError, TypeError) as exc:
        raise EventPayloadError(f"event body is not JSON: {exc}") from exc
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise EventPayloadError("event body must be a JSON array of objects")
    return [_event(item) for item in data]
