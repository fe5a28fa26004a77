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
SHOP = "embajador-test.myshopify.com"


def fixture_body(name: str) -> bytes:
    return (WEBHOOK_FIXTURES / name).read_bytes()


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
        "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": "2026-11-23T10:00:00.000Z",
        "Content-Type": "application/json",
    }
    headers.update(extra)
    return headers


def post_webhook(client, topic: str, payload, shop: str = SHOP, event_id: str | None = None, **extra):
    body = payload if isinstance(payload, bytes) else json.dumps(payload, default=str).encode()
    return client.post("/webhooks", data=body, headers=webhook_headers(body, topic, shop, event_id, **extra))
