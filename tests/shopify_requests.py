"""Building requests the way Shopify signs them, for tests (the app's own signers)."""
from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path

from plugin.shopify.signatures import sign_webhook
from tests.conftest import API_SECRET, SHARED

FIXTURES = SHARED / "fixtures"
WEBHOOK_FIXTURES = FIXTURES / "shopify" / "webhooks"
# Payloads the shared folder lacks, with their sources in tests/fixtures/SOURCES.md.
LOCAL_WEBHOOK_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "shopify" / "webhooks"
SHOP = "embajador-test.myshopify.com"
API_VERSION = "2026-10"


def fixture_body(name: str) -> bytes:
    local = LOCAL_WEBHOOK_FIXTURES / name
    return (local if local.exists() else WEBHOOK_FIXTURES / name).read_bytes()


def webhook_fixture_names() -> list[str]:
    return sorted({p.name for d in (WEBHOOK_FIXTURES, LOCAL_WEBHOOK_FIXTURES) for p in d.glob("*.json")})


def consent_payload(customer_id: int, email: str, state: str = "subscribed",
                    at: str | None = "2026-11-01T00:00:00Z", opt_in_level: str | None = "single_opt_in") -> dict:
    """A customers_email_marketing_consent/update body, shaped like Shopify's example."""
    payload = fixture_payload("customers_email_marketing_consent__update.json")
    payload.update(customer_id=customer_id, email_address=email)
    payload["email_marketing_consent"].update(state=state, opt_in_level=opt_in_level, consent_updated_at=at)
    return payload


def fixture_payload(name: str) -> dict:
    return json.loads(fixture_body(name), parse_float=Decimal)


def topic_of(fixture_name: str) -> str:
    """``orders__paid.json`` / ``orders__create.2026-04.json`` → ``orders/paid`` / ``orders/create``."""
    return Path(fixture_name).name.split(".")[0].replace("__", "/")


def webhook_headers(body: bytes, topic: str, shop: str = SHOP, event_id: str | None = None,
                    secret: str = API_SECRET, **extra) -> dict:
    headers = {
        "X-Shopify-Hmac-Sha256": sign_webhook(body, secret),
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": API_VERSION,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": "2026-11-23T10:00:00.000Z",
        "Content-Type": "application/json",
    }
    headers.update(extra)
    return headers


def post_webhook(client, topic: str, payload, shop: str = SHOP, event_id: str | None = None, **extra):
    """POST a signed delivery; a payload (dict) must be shaped like Shopify's (tests/payload_shapes.py)."""
    if isinstance(payload, dict):
        from tests.payload_shapes import unknown_fields  # imports this module: bound late on purpose
        extra_fields = unknown_fields(topic, payload)
        assert not extra_fields, f"{topic} test payload carries fields Shopify does not send: {extra_fields}"
    body = payload if isinstance(payload, bytes) else json.dumps(payload, default=str).encode()
    return client.post("/webhooks", data=body, headers=webhook_headers(body, topic, shop, event_id, **extra))
