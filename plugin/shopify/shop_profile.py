"""What the app needs to know about a store right after install (and on ``shop/update``)."""
from __future__ import annotations

from dataclasses import dataclass

from plugin.shopify.errors import ShopifyGraphQLError
from plugin.shopify.graphql import AdminClient

SHOP_QUERY = """
query ShopProfile {
  shop {
    name
    email
    currencyCode
    ianaTimezone
    plan { publicDisplayName partnerDevelopment shopifyPlus }
  }
}
"""

# Separate query: shopLocales needs read_locales, and a missing scope must not cost us
# the rest of the profile (the app then falls back to the shopper's or a default locale).
LOCALES_QUERY = """
query ShopPrimaryLocale {
  shopLocales(published: true) { locale primary }
}
"""


@dataclass(frozen=True)
class ShopProfile:
    name: str
    email: str | None
    currency_code: str
    primary_locale: str | None
    iana_timezone: str
    plan: str | None


def fetch_shop_profile(client: AdminClient) -> ShopProfile:
    """Name, contact email, currency, primary locale, timezone and plan of the store."""
    shop = client.execute(SHOP_QUERY)["shop"]
    plan = shop.get("plan") or {}
    return ShopProfile(
        name=shop["name"],
        email=shop.get("email"),
        currency_code=shop["currencyCode"],
        primary_locale=_primary_locale(client),
        iana_timezone=shop["ianaTimezone"],
        plan=plan.get("publicDisplayName"),
    )


def _primary_locale(client: AdminClient) -> str | None:
    try:
        locales = client.execute(LOCALES_QUERY).get("shopLocales") or []
    except ShopifyGraphQLError as exc:
        if "ACCESS_DENIED" in exc.codes:
            return None
        raise
    return next((item["locale"] for item in locales if item.get("primary")), None)
