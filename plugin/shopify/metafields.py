"""Write loyalty state (points, tier...) onto customers as metafields, for Liquid and Flow.

``metafieldsSet`` takes at most 25 metafields per call and applies each call atomically;
larger lists are split, so a failure can leave earlier batches written (they are
idempotent upserts: re-running the same list converges).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from plugin.shopify.graphql import AdminClient

MAX_PER_CALL = 25

SET_MUTATION = """
mutation SetLoyaltyMetafields($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { id }
    userErrors { field code message }
  }
}
"""


@dataclass(frozen=True)
class MetafieldInput:
    owner_id: str  # a gid, e.g. gid://shopify/Customer/1
    namespace: str
    key: str
    type: str  # e.g. number_integer, single_line_text_field, json
    value: str  # always a string, as the API wants
    compare_digest: str | None = None  # compare-and-set; None = overwrite

    def as_variables(self) -> dict[str, Any]:
        item = {"ownerId": self.owner_id, "namespace": self.namespace, "key": self.key,
                "type": self.type, "value": self.value}
        if self.compare_digest is not None:
            item["compareDigest"] = self.compare_digest
        return item


def set_customer_metafields(client: AdminClient, items: Iterable[MetafieldInput]) -> None:
    """Upsert the metafields in batches of 25; ``ShopifyUserError`` names the bad field."""
    batch: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item.value, str):
            raise ValueError(f"metafield {item.namespace}.{item.key} value must be a string")
        batch.append(item.as_variables())
        if len(batch) == MAX_PER_CALL:
            client.mutate(SET_MUTATION, {"metafields": batch}, "metafieldsSet")
            batch = []
    if batch:
        client.mutate(SET_MUTATION, {"metafields": batch}, "metafieldsSet")
