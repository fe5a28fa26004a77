"""The webhook topics we subscribe to, and which of them Shopify mandates for privacy."""
from __future__ import annotations

import re

SUBSCRIBED_TOPICS = (
    "app/uninstalled",
    "customers/create",
    "customers/update",
    "orders/create",
    "orders/paid",
    "orders/updated",
    "orders/cancelled",
    "orders/fulfilled",
    "refunds/create",
    "checkouts/create",
    "checkouts/update",
)
# Declared in shopify.app.toml only (the API cannot subscribe to them).
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
KNOWN_TOPICS = frozenset(SUBSCRIBED_TOPICS + COMPLIANCE_TOPICS)
_TOPIC = re.compile(r"^[a-z_]+/[a-z_]+$")


def handler_module(topic: str) -> str | None:
    """``orders/paid`` → ``webhooks.handlers.orders_paid``; None for unknown topics."""
    if topic not in KNOWN_TOPICS or not _TOPIC.match(topic):
        return None
    return "webhooks.handlers." + topic.replace("/", "_")
