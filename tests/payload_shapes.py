"""Test payloads may only carry fields the real Shopify payload for that topic carries.

The real shapes are the fixtures (../shared/fixtures/shopify/webhooks, tests/fixtures): Shopify's
own examples, across the API versions we hold. A test payload may leave fields out or change
values; a field none of the examples has (e.g. ``email_marketing_consent`` in customers/create
since 2025-01, ``orders_count`` in an order's customer since 2022-04) is an error, because the
code under test would be reading something Shopify never sends.
"""
from __future__ import annotations

import json
from functools import cache
from typing import Any

from tests.shopify_requests import fixture_body, topic_of, webhook_fixture_names

# Topics whose body is the same resource as another topic's example (Shopify serialises the
# same Order / Customer / Checkout object for each of them).
FAMILY = {"orders/create": "order", "orders/paid": "order", "orders/updated": "order",
          "orders/cancelled": "order", "orders/fulfilled": "order",
          "customers/create": "customer", "customers/update": "customer",
          "checkouts/create": "checkout", "checkouts/update": "checkout"}

# Real fields no stored example shows: customer payloads carry ``metafields`` when the
# subscription lists metafieldNamespaces
# (https://shopify.dev/docs/api/admin-graphql/latest/input-objects/WebhookSubscriptionInput).
OPTIONAL_FIELDS = {"customer": {"metafields": [{"namespace": "", "key": "", "value": "", "type": ""}]}}


@cache
def real_examples(topic: str) -> tuple[Any, ...]:
    family = FAMILY.get(topic, topic)
    found = tuple(json.loads(fixture_body(name)) for name in webhook_fixture_names()
                  if FAMILY.get(topic_of(name), topic_of(name)) == family)
    return found + ((OPTIONAL_FIELDS[family],) if family in OPTIONAL_FIELDS and found else ())


def unknown_fields(topic: str, payload: Any) -> list[str]:
    """Paths in ``payload`` that no real example of ``topic`` has; [] when it is real-shaped."""
    examples = real_examples(topic)
    if not examples:
        return [f"<no real example of {topic} in the fixtures>"]
    return _unknown(payload, list(examples), "")


def _unknown(value: Any, samples: list[Any], path: str) -> list[str]:
    if isinstance(value, dict):
        shaped = [s for s in samples if isinstance(s, dict)]
        if not shaped:
            return []  # the examples hold null here: nothing to compare with
        found = []
        for key, inner in value.items():
            inner_samples = [s[key] for s in shaped if key in s]
            if not inner_samples:
                found.append(f"{path}{key}")
            else:
                found.extend(_unknown(inner, inner_samples, f"{path}{key}."))
        return found
    if isinstance(value, list):
        elements = [e for s in samples if isinstance(s, list) for e in s]
        return [p for item in value for p in _unknown(item, elements, f"{path}[].")] if elements else []
    return []
