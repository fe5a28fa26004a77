"""The topics a merchant can subscribe to and the JSON body of each event."""
from __future__ import annotations

from datetime import datetime
from typing import Any

POINTS_CHANGED = "points.changed"
TIER_CHANGED = "tier.changed"
REWARD_REDEEMED = "reward.redeemed"
REFERRAL_COMPLETED = "referral.completed"
TOPICS = (POINTS_CHANGED, TIER_CHANGED, REWARD_REDEEMED, REFERRAL_COMPLETED)
API_VERSION = "2026-11"  # the shape below; bumped only with a breaking change


class BadTopics(ValueError):
    pass


def check_topics(topics: object) -> list[str]:
    """A non-empty list of known topics, without duplicates, in catalogue order."""
    if not isinstance(topics, list) or not topics or not all(isinstance(t, str) for t in topics):
        raise BadTopics(f"topics: a non-empty list of {', '.join(TOPICS)}")
    unknown = sorted(set(topics) - set(TOPICS))
    if unknown:
        raise BadTopics(f"topics: unknown {', '.join(unknown)}; known: {', '.join(TOPICS)}")
    return [t for t in TOPICS if t in topics]


def envelope(event_id: int, topic: str, shop_domain: str, created_at: datetime,
             data: dict[str, Any]) -> dict[str, Any]:
    """What the endpoint receives: ``id`` is stable across retries (dedupe on it)."""
    return {"id": f"evt_{event_id}", "type": topic, "api_version": API_VERSION, "shop": shop_domain,
            "created_at": created_at.isoformat(), "data": data}


def customer_ref(shopify_id: str | None, email: str | None) -> dict[str, str | None]:
    # Shopify ids exceed 2^53: sent as strings, never numbers.
    return {"id": shopify_id, "email": email}
