"""Subscribe a shop to the webhook topics the app listens to, idempotently.

From API 2025-10 ``WebhookSubscriptionInput`` and ``WebhookSubscription`` use the unified
``uri`` field (``callbackUrl`` / ``endpoint`` are deprecated). Compliance topics
(``customers/data_request``, ``customers/redact``, ``shop/redact``) cannot be subscribed
through the API: they live in ``shopify.app.toml``.

Only shops registered with ``embajador shop add`` (a custom app made in the store admin, which
has no toml) subscribe through here; OAuth installs rely on the app-specific subscriptions in
``shopify.app.toml``, Shopify's recommended channel — subscribing both ways would deliver every
event twice (https://shopify.dev/docs/apps/build/webhooks/subscribe).
Payloads carry metafields only for the namespaces a subscription lists
(``metafieldNamespaces``, https://shopify.dev/docs/api/admin-graphql/latest/input-objects/WebhookSubscriptionInput).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from plugin.shopify.graphql import AdminClient

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
    # Consent left customers/* payloads in 2025-01; it has its own topic (resource part: 33 characters).
    # https://shopify.dev/docs/api/webhooks/latest?reference=toml#list-of-topics-customers_email_marketing_consent/update
    "customers_email_marketing_consent/update",
)
# Birthdays live in Shopify's standard customer metafield facts.birth_date; payloads carry it
# only when the subscription names the namespace.
METAFIELD_NAMESPACES = {"customers/create": ("facts",), "customers/update": ("facts",)}
# Declared in shopify.app.toml only (the API cannot subscribe to them).
COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
_TOPIC = re.compile(r"[a-z_]+/[a-z_]+")

LIST_QUERY = """
query ExistingWebhookSubscriptions($topics: [WebhookSubscriptionTopic!], $after: String) {
  webhookSubscriptions(first: 100, after: $after, topics: $topics) {
    nodes { id topic uri }
    pageInfo { hasNextPage endCursor }
  }
}
"""

CREATE_MUTATION = """
mutation CreateWebhookSubscription($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""


def topic_enum(topic: str) -> str:
    """``"orders/paid"`` -> ``"ORDERS_PAID"`` (the GraphQL ``WebhookSubscriptionTopic``)."""
    name = topic.strip().lower()
    if not _TOPIC.fullmatch(name):
        raise ValueError(f"not a webhook topic: {topic!r}")
    if name in COMPLIANCE_TOPICS:
        raise ValueError(f"{topic} is a compliance topic: declare it in shopify.app.toml")
    return name.replace("/", "_").upper()


def register_webhooks(client: AdminClient, callback_url: str, topics: Iterable[str],
                      metafield_namespaces: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """Make sure each topic is delivered to ``callback_url``; return the gids created now.

    Topics already subscribed to this exact URI are skipped, so re-installs and
    repeated calls create nothing twice. ``metafield_namespaces`` maps a topic to the
    metafield namespaces its payloads should carry.
    """
    namespaces = {topic_enum(t): sorted(set(ns)) for t, ns in (metafield_namespaces or {}).items()}
    wanted = list(dict.fromkeys(topic_enum(t) for t in topics))
    if not wanted:
        return []
    existing = {node["topic"] for node in _subscriptions(client, wanted)
                if node.get("uri") == callback_url}
    created: list[str] = []
    for topic in wanted:
        if topic in existing:
            continue
        subscription: dict[str, Any] = {"uri": callback_url, "format": "JSON"}
        if namespaces.get(topic):
            subscription["metafieldNamespaces"] = namespaces[topic]
        result = client.mutate(CREATE_MUTATION, {"topic": topic, "webhookSubscription": subscription},
                               "webhookSubscriptionCreate")
        created.append(result["webhookSubscription"]["id"])
    return created


def _subscriptions(client: AdminClient, topics: list[str]) -> Iterator[dict[str, Any]]:
    after = None
    while True:
        page = client.execute(LIST_QUERY, {"topics": topics, "after": after})["webhookSubscriptions"]
        yield from page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return
        after = page["pageInfo"]["endCursor"]
