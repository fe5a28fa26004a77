"""Which handler module runs each topic we receive (subscribed ones and the compliance ones)."""
from __future__ import annotations

import re

from plugin.shopify.webhook_subscriptions import COMPLIANCE_TOPICS, SUBSCRIBED_TOPICS

KNOWN_TOPICS = frozenset(SUBSCRIBED_TOPICS) | COMPLIANCE_TOPICS
_TOPIC = re.compile(r"^[a-z_]+/[a-z_]+$")


def handler_module(topic: str) -> str | None:
    """``orders/paid`` → ``webhooks.handlers.orders_paid``; None for unknown topics."""
    if topic not in KNOWN_TOPICS or not _TOPIC.match(topic):
        return None
    return "webhooks.handlers." + topic.replace("/", "_")
