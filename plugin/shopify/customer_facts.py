"""Customer facts only the Admin API knows: marketing consent, birthday metafield, order count.

Since 2025-01 ``customers/create|update`` payloads carry no consent, and ``orders_count``
left order payloads in 2022-04, so for a customer the app has not seen through webhooks it
asks once: https://shopify.dev/docs/api/admin-graphql/latest/objects/Customer
(``emailMarketingConsent``, ``numberOfOrders`` is an UnsignedInt64 sent as a string,
``metafield(namespace:, key:)``). Writing consent back uses
https://shopify.dev/docs/api/admin-graphql/latest/mutations/customerEmailMarketingConsentUpdate
(input states: SUBSCRIBED, UNSUBSCRIBED, PENDING only).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .gids import customer_gid, parse_gid
from .graphql import AdminClient

# Shopify's standard customer birthday metafield definition.
BIRTHDAY_NAMESPACE = "facts"
BIRTHDAY_KEY = "birth_date"

CUSTOMER_QUERY = """
query CustomerFacts($id: ID!) {
  customer(id: $id) {
    id
    email
    firstName
    lastName
    locale
    numberOfOrders
    emailMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt }
    birthDate: metafield(namespace: "facts", key: "birth_date") { value }
  }
}
"""

CONSENT_MUTATION = """
mutation WriteEmailMarketingConsent($input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) {
    customer { id }
    userErrors { field message }
  }
}
"""
WRITABLE_STATES = frozenset({"SUBSCRIBED", "UNSUBSCRIBED", "PENDING"})


@dataclass(frozen=True)
class CustomerFacts:
    shopify_id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    locale: str | None
    number_of_orders: int
    marketing_state: str | None
    opt_in_level: str | None
    consent_updated_at: str | None
    birthday: str | None


def fetch_customer_facts(client: AdminClient, shopify_id: int | str) -> CustomerFacts | None:
    """The customer as Shopify knows it now, or None when Shopify has no such customer."""
    node = client.execute(CUSTOMER_QUERY, {"id": customer_gid(shopify_id)}).get("customer")
    if not node:
        return None
    return customer_facts_from_node(node)


def customer_facts_from_node(node: dict[str, Any]) -> CustomerFacts:
    """A GraphQL ``Customer`` node (query or bulk JSONL line) as plain values."""
    consent = node.get("emailMarketingConsent") or {}
    birthday = node.get("birthDate") or {}
    return CustomerFacts(
        shopify_id=int(parse_gid(str(node["id"]))[1]),
        email=node.get("email"), first_name=node.get("firstName"), last_name=node.get("lastName"),
        locale=node.get("locale"), number_of_orders=_count(node.get("numberOfOrders")),
        marketing_state=consent.get("marketingState"), opt_in_level=consent.get("marketingOptInLevel"),
        consent_updated_at=consent.get("consentUpdatedAt"),
        birthday=birthday.get("value") if isinstance(birthday, dict) else None)


def write_email_consent(client: AdminClient, shopify_id: int | str, state: str, updated_at_iso: str,
                        opt_in_level: str | None = None) -> None:
    """Tell Shopify the customer's email marketing state (raises ShopifyUserError if refused)."""
    if state not in WRITABLE_STATES:
        raise ValueError(f"Shopify accepts only {sorted(WRITABLE_STATES)} as consent input, not {state!r}")
    consent: dict[str, Any] = {"marketingState": state, "consentUpdatedAt": updated_at_iso}
    if opt_in_level:
        consent["marketingOptInLevel"] = opt_in_level
    client.mutate(CONSENT_MUTATION, {"input": {"customerId": customer_gid(shopify_id),
                                               "emailMarketingConsent": consent}},
                  "customerEmailMarketingConsentUpdate")


def _count(value: Any) -> int:
    try:
        return max(int(str(value)), 0)
    except (TypeError, ValueError):
        return 0
