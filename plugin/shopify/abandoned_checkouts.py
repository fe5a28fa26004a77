"""Read abandoned checkouts back from Shopify, to reconcile what the webhooks told us.

GraphQL ``abandonedCheckouts`` (read_orders + protected customer data): the buyer's
email is under ``customer { email }`` (there is no top-level email), the recovery link is
``abandonedCheckoutUrl`` and ``completedAt`` is set once the checkout became an order.
https://shopify.dev/docs/api/admin-graphql/latest/queries/abandonedCheckouts

Query cost: a connection costs 2 + ``first`` x (cost of one node), nested connections
multiply (https://shopify.dev/docs/api/usage/limits#query-cost-calculation). A page holds
``PAGE_SIZE`` checkouts with their first ``LINES_PER_CHECKOUT`` lines (about 220 points,
tests/unit/shopify/test_shopify_query_cost.py); a checkout with more lines reads the rest
through ``node(id:)`` (AbandonedCheckout implements Node), page by page.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from plugin.shopify.graphql import AdminClient

PAGE_SIZE = 6
LINES_PER_CHECKOUT = 10
MORE_LINES_PAGE = 50

_LINE_FIELDS = """
          title quantity variantTitle
          image { url }
          originalUnitPriceSet { shopMoney { amount currencyCode } }
"""

QUERY = """
query AbandonedCheckoutsSince($first: Int!, $lines: Int!, $after: String, $query: String) {
  abandonedCheckouts(first: $first, after: $after, query: $query) {
    nodes {
      id
      createdAt
      updatedAt
      completedAt
      abandonedCheckoutUrl
      customer { id email firstName lastName locale }
      subtotalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
      lineItems(first: $lines) {
        nodes {__LINES__        }
        pageInfo { hasNextPage endCursor }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
""".replace("__LINES__", _LINE_FIELDS)

MORE_LINES_QUERY = """
query AbandonedCheckoutMoreLines($id: ID!, $first: Int!, $after: String) {
  node(id: $id) {
    ... on AbandonedCheckout {
      lineItems(first: $first, after: $after) {
        nodes {__LINES__        }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
""".replace("__LINES__", _LINE_FIELDS)


def fetch_abandoned_checkouts(client: AdminClient, updated_since: datetime) -> Iterator[dict[str, Any]]:
    """Yield every checkout updated at or after ``updated_since``, page by page (lazily),
    each with all its line items."""
    if updated_since.tzinfo is None:
        raise ValueError("updated_since must be timezone-aware")
    variables: dict[str, Any] = {
        "first": PAGE_SIZE,
        "lines": LINES_PER_CHECKOUT,
        "after": None,
        "query": f"updated_at:>='{updated_since.isoformat()}'",
    }
    while True:
        page = client.execute(QUERY, variables)["abandonedCheckouts"]
        for node in page["nodes"]:
            yield _with_all_lines(client, node)
        if not page["pageInfo"]["hasNextPage"]:
            return
        variables = {**variables, "after": page["pageInfo"]["endCursor"]}


def _with_all_lines(client: AdminClient, node: dict[str, Any]) -> dict[str, Any]:
    lines = node.get("lineItems") or {}
    info = lines.get("pageInfo") or {}
    if not info.get("hasNextPage"):
        return node
    collected = list(lines.get("nodes") or [])
    after = info.get("endCursor")
    while after:
        found = client.execute(MORE_LINES_QUERY, {"id": node["id"], "first": MORE_LINES_PAGE, "after": after})
        more = ((found.get("node") or {}).get("lineItems")) or {}
        collected.extend(more.get("nodes") or [])
        more_info = more.get("pageInfo") or {}
        after = more_info.get("endCursor") if more_info.get("hasNextPage") else None
    return {**node, "lineItems": {"nodes": collected, "pageInfo": {"hasNextPage": False, "endCursor": None}}}
