"""Read abandoned checkouts back from Shopify, to reconcile what the webhooks told us.

GraphQL ``abandonedCheckouts`` (read_orders + protected customer data): the buyer's
email is under ``customer { email }`` (there is no top-level email), the recovery link is
``abandonedCheckoutUrl`` and ``completedAt`` is set once the checkout became an order.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from plugin.shopify.graphql import AdminClient

PAGE_SIZE = 50

QUERY = """
query AbandonedCheckoutsSince($first: Int!, $after: String, $query: String) {
  abandonedCheckouts(first: $first, after: $after, query: $query) {
    nodes {
      id
      createdAt
      updatedAt
      completedAt
      abandonedCheckoutUrl
      customer { id email }
      totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
      subtotalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
      lineItems(first: 50) {
        nodes {
          title quantity variantTitle
          image { url }
          originalUnitPriceSet { shopMoney { amount currencyCode } }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def fetch_abandoned_checkouts(client: AdminClient, updated_since: datetime) -> Iterator[dict[str, Any]]:
    """Yield every checkout updated at or after ``updated_since``, page by page (lazily)."""
    if updated_since.tzinfo is None:
        raise ValueError("updated_since must be timezone-aware")
    variables: dict[str, Any] = {
        "first": PAGE_SIZE,
        "after": None,
        "query": f"updated_at:>='{updated_since.isoformat()}'",
    }
    while True:
        page = client.execute(QUERY, variables)["abandonedCheckouts"]
        yield from page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return
        variables = {**variables, "after": page["pageInfo"]["endCursor"]}
