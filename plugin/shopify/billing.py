"""Shopify's Billing API: create a recurring subscription the merchant approves, read the
installation's active subscriptions, look one subscription up, cancel one.

Shapes (Admin GraphQL 2026-10):
- ``appSubscriptionCreate(name, returnUrl, test, trialDays, lineItems)`` returns
  ``appSubscription``, ``confirmationUrl`` (where the merchant approves or declines) and
  ``userErrors``; a recurring line item is ``{plan: {appRecurringPricingDetails: {price:
  {amount, currencyCode}, interval}}}``
  (https://shopify.dev/docs/api/admin-graphql/latest/mutations/appSubscriptionCreate,
  Shopify/shopify-app-js packages/apps/shopify-api/lib/billing/request.ts).
- ``currentAppInstallation { activeSubscriptions { id name status test trialDays
  currentPeriodEnd createdAt } }`` (shopify-app-js lib/billing/types.ts, check.ts).
- ``appSubscriptionCancel(id, prorate)`` (shopify-app-js lib/billing/cancel.ts).
- Statuses: ACTIVE, CANCELLED, DECLINED, EXPIRED, FROZEN, PENDING (ACCEPTED deprecated)
  (https://shopify.dev/docs/api/admin-graphql/latest/enums/AppSubscriptionStatus).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from plugin.shopify.graphql import AdminClient

CREATE_MUTATION = """
mutation AppSubscriptionCreate($name: String!, $returnUrl: URL!, $test: Boolean, $trialDays: Int,
                               $lineItems: [AppSubscriptionLineItemInput!]!) {
  appSubscriptionCreate(name: $name, returnUrl: $returnUrl, test: $test, trialDays: $trialDays,
                        lineItems: $lineItems) {
    appSubscription { id name status test trialDays currentPeriodEnd createdAt }
    confirmationUrl
    userErrors { field message }
  }
}
"""

ACTIVE_QUERY = """
query ActiveSubscriptions {
  currentAppInstallation {
    activeSubscriptions { id name status test trialDays currentPeriodEnd createdAt }
  }
}
"""

SUBSCRIPTION_QUERY = """
query AppSubscriptionStatus($id: ID!) {
  node(id: $id) {
    ... on AppSubscription { id name status test trialDays currentPeriodEnd createdAt }
  }
}
"""

CANCEL_MUTATION = """
mutation AppSubscriptionCancel($id: ID!, $prorate: Boolean) {
  appSubscriptionCancel(id: $id, prorate: $prorate) {
    appSubscription { id name status test trialDays currentPeriodEnd createdAt }
    userErrors { field message }
  }
}
"""


@dataclass(frozen=True)
class Subscription:
    gid: str
    name: str
    status: str
    test: bool
    trial_days: int
    current_period_end: datetime | None
    created_at: datetime | None


@dataclass(frozen=True)
class Created:
    subscription: Subscription
    confirmation_url: str


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) and value else None


def _subscription(node: dict[str, Any]) -> Subscription:
    return Subscription(gid=str(node["id"]), name=str(node.get("name") or ""), status=str(node.get("status") or ""),
                        test=bool(node.get("test")), trial_days=int(node.get("trialDays") or 0),
                        current_period_end=_time(node.get("currentPeriodEnd")), created_at=_time(node.get("createdAt")))


def create_subscription(client: AdminClient, *, name: str, price: Decimal, currency: str, interval: str,
                        trial_days: int, return_url: str, test: bool) -> Created:
    """Ask Shopify for a recurring charge; the merchant approves it at ``confirmation_url``."""
    line_item = {"plan": {"appRecurringPricingDetails": {"price": {"amount": str(price), "currencyCode": currency},
                                                         "interval": interval}}}
    result = client.mutate(CREATE_MUTATION, {"name": name, "returnUrl": return_url, "test": test,
                                             "trialDays": trial_days, "lineItems": [line_item]},
                           "appSubscriptionCreate")
    return Created(_subscription(result["appSubscription"]), str(result["confirmationUrl"]))


def active_subscriptions(client: AdminClient) -> list[Subscription]:
    installation = client.execute(ACTIVE_QUERY).get("currentAppInstallation") or {}
    return [_subscription(node) for node in installation.get("activeSubscriptions") or []]


def find_subscription(client: AdminClient, gid: str) -> Subscription | None:
    node = client.execute(SUBSCRIPTION_QUERY, {"id": gid}).get("node")
    return _subscription(node) if node and node.get("id") else None


def cancel_subscription(client: AdminClient, gid: str) -> Subscription:
    result = client.mutate(CANCEL_MUTATION, {"id": gid, "prorate": True}, "appSubscriptionCancel")
    return _subscription(result["appSubscription"])
