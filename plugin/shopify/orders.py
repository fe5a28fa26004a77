"""Read orders back from Shopify, to reconcile what the order webhooks told us.

GraphQL ``orders`` filtered by ``updated_at`` (https://shopify.dev/docs/api/admin-graphql/latest/queries/orders),
with ``displayFinancialStatus`` (https://shopify.dev/docs/api/admin-graphql/latest/enums/OrderDisplayFinancialStatus).
A query may not request more than 1,000 points of cost; ``requested_cost`` computes it the
documented way (object 1, scalar 0, connection 2 + first × one node) and the page sizes
are chosen to stay under it.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from plugin.shopify.graphql import AdminClient

ORDERS_PER_PAGE = 3  # 2 + 3 × 77 = 233 points: under our 250 budget (Shopify allows 1,000)
LINES_PER_ORDER = 10
MAX_QUERY_COST = 1000

QUERY = """
query OrdersUpdatedSince($first: Int!, $lines: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes {
      id name email createdAt processedAt cancelledAt updatedAt displayFinancialStatus
      taxesIncluded test sourceName customerLocale discountCodes
      customer { id email }
      customAttributes { key value }
      subtotalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
      lineItems(first: $lines) {
        nodes {
          isGiftCard quantity
          originalUnitPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
          discountAllocations {
            allocatedAmountSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
          }
        }
        pageInfo { hasNextPage }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _money_set() -> int:
    return 1 + 1 + 1  # the set, shopMoney, presentmentMoney (amount/currencyCode are scalars)


def requested_cost(orders: int = ORDERS_PER_PAGE, lines: int = LINES_PER_ORDER) -> int:
    """The requested cost of QUERY: object = 1, scalar/enum = 0, connection = 2 + first × node.
    A list of objects (customAttributes, discountAllocations) is counted as one object each
    time it appears, as Shopify does for non-connection lists."""
    line = 1 + _money_set() + (1 + _money_set())           # node, originalUnitPriceSet, discountAllocations
    line_items = 2 + lines * line + 1                       # connection + pageInfo
    order = 1 + 1 + 1 + _money_set() + line_items           # node, customer, customAttributes, subtotal, lines
    return 2 + orders * order + 1                           # connection + pageInfo


def fetch_orders_updated_since(client: AdminClient, updated_since: datetime) -> Iterator[dict[str, Any]]:
    """Yield every order updated at or after ``updated_since``, page by page (lazily)."""
    if updated_since.tzinfo is None:
        raise ValueError("updated_since must be timezone-aware")
    variables: dict[str, Any] = {"first": ORDERS_PER_PAGE, "lines": LINES_PER_ORDER, "after": None,
                                 "query": f"updated_at:>='{updated_since.isoformat()}'"}
    while True:
        page = client.execute(QUERY, variables)["orders"]
        yield from page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return
        variables = {**variables, "after": page["pageInfo"]["endCursor"]}
