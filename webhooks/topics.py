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
    # Consent left customers/* payloads in 2025-01; it has its own topic.
    # https://shopify.dev/docs/api/webhooks/latest?reference=toml#list-of-topics-customers_email_marketing_consent/update
    "customers_email_marketing_consent/update",
)
# Birthdays live in Shopify's standard customer metafield facts.birth_date; payloads carry it
# only when the subscription names the namespace.
METAFIELD_NAMESPACES = {"customers/create": ("facts",), "customers/update": ("facts",)}
# Declared in shopify.app.toml only (the API cannot subscribe to them).
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
KNOWN_TOPICS = frozenset(SUBSCRIBED_TOPICS + COMPLIANCE_TOPICS)
_TOPIC = re.compile(r"^[a-z_]+/[a-z_]+$")  # resource parts reach 33 characters


def handler_module(topic: str) -> str | None:
    """``orders/paid`` → ``webhooks.handlers.orders_paid``; None for unknown topics."""
    if topic not in KNOWN_TOPICS or not _TOPIC.match(topic):
        return None
    return "webhooks.handlers." + topic.replace("/", "_")
