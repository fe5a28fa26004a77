"""Reward codes: single-use discount codes created in the merchant's Shopify.

API 2025-10: ``context`` replaces the deprecated ``customerSelection``; one customer is
``{"customers": {"add": [gid]}}``, everyone is ``{"all": "ALL"}``. Money goes out as a
decimal string (``DiscountAmountInput.amount`` and ``greaterThanOrEqualToSubtotal`` are
``Decimal`` scalars); the percentage is a GraphQL ``Float`` between 0 and 1.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from plugin.shopify.gids import customer_gid as to_customer_gid
from plugin.shopify.graphql import AdminClient

DiscountKind = Literal["fixed_amount", "percentage", "free_shipping"]

BASIC_MUTATION = """
mutation CreateRewardCode($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}
"""

FREE_SHIPPING_MUTATION = """
mutation CreateFreeShippingRewardCode($freeShippingCodeDiscount: DiscountCodeFreeShippingInput!) {
  discountCodeFreeShippingCreate(freeShippingCodeDiscount: $freeShippingCodeDiscount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}
"""


FIND_BY_CODE_QUERY = """
query FindDiscountByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) { id }
}
"""


def find_discount_code(client: AdminClient, code: str) -> str | None:
    """The gid of the discount that owns ``code``, or None: tells whether an interrupted
    creation actually happened before we retry or give the points back."""
    node = client.execute(FIND_BY_CODE_QUERY, {"code": code}).get("codeDiscountNodeByCode")
    return node["id"] if node else None


@dataclass(frozen=True)
class DiscountResult:
    code: str
    node_gid: str


def create_discount_code(client: AdminClient, *, title: str, code: str, customer_gid: str | None,
                         kind: DiscountKind, amount: Decimal | None = None,
                         percentage: Decimal | None = None, min_subtotal: Decimal | None = None,
                         starts_at: datetime, ends_at: datetime | None = None, usage_limit: int | None = 1,
                         applies_once_per_customer: bool = True,
                         combines_with: Mapping[str, bool] | None = None) -> DiscountResult:
    """Create the code in Shopify; bound to exactly ``customer_gid`` when one is given.

    Raises ``ValueError`` for an impossible reward before calling Shopify and
    ``ShopifyUserError`` when Shopify refuses it (e.g. the code already exists).
    """
    discount: dict[str, Any] = {
        "title": title,
        "code": code,
        "startsAt": _iso(starts_at, "starts_at"),
        "endsAt": _iso(ends_at, "ends_at") if ends_at is not None else None,
        "context": _context(customer_gid),
        "usageLimit": usage_limit,
        "appliesOncePerCustomer": applies_once_per_customer,
    }
    if min_subtotal is not None:
        discount["minimumRequirement"] = {
            "subtotal": {"greaterThanOrEqualToSubtotal": _money(min_subtotal, "min_subtotal")}}
    if combines_with is not None:
        discount["combinesWith"] = dict(combines_with)
    if kind == "free_shipping":
        discount["destination"] = {"all": True}
        result = client.mutate(FREE_SHIPPING_MUTATION, {"freeShippingCodeDiscount": discount},
                               "discountCodeFreeShippingCreate")
    else:
        discount["customerGets"] = {"value": _value(kind, amount, percentage), "items": {"all": True}}
        result = client.mutate(BASIC_MUTATION, {"basicCodeDiscount": discount},
                               "discountCodeBasicCreate")
    return DiscountResult(code=code, node_gid=result["codeDiscountNode"]["id"])


def _context(customer_gid: str | None) -> dict[str, Any]:
    if customer_gid is None:
        return {"all": "ALL"}
    return {"customers": {"add": [to_customer_gid(customer_gid)]}}


def _value(kind: str, amount: Decimal | None, percentage: Decimal | None) -> dict[str, Any]:
    if kind == "fixed_amount":
        if amount is None:
            raise ValueError("a fixed_amount reward needs an amount")
        return {"discountAmount": {"amount": _money(amount, "amount"), "appliesOnEachItem": False}}
    if kind == "percentage":
        if percentage is None or not Decimal(0) < Decimal(percentage) <= Decimal(1):
            raise ValueError("percentage must be a Decimal in (0, 1], e.g. Decimal('0.10')")
        return {"percentage": float(percentage)}
    raise ValueError(f"unknown discount kind: {kind!r}")


def _money(value: Decimal, name: str) -> str:
    if isinstance(value, float) or not isinstance(value, (Decimal, int)):
        raise ValueError(f"{name} must be a Decimal, not {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be a positive amount, got {value}")
    return format(value.normalize(), "f")


def _iso(moment: datetime, name: str) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.isoformat()
