"""Checks every compliance delivery passes before anything is exported, wiped or erased.

``X-Shopify-Shop-Domain`` and ``X-Shopify-Topic`` are not covered by the HMAC, only the
body is, so the body must name the shop the header named; ``shop/redact`` additionally
needs the shop to be really uninstalled (Shopify sends it 48 h after ``app/uninstalled``:
https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance). A delivery that
fails is recorded as ``rejected`` and changes nothing.
"""
from __future__ import annotations

from typing import Any

from plugin.app_state import AppState
from plugin.logs import get_logger
from plugin.models import Shop
from plugin.shopify.errors import ShopifyUnauthorized
from plugin.shopify.shop_domain import normalize_shop_domain
from plugin.shops.tokens import ShopNotInstalled, admin_client

log = get_logger("webhooks.compliance")
_PROBE = "query EmbajadorInstallProbe { shop { id } }"


class RejectedDelivery(Exception):
    """A verified delivery that must not be acted on; the message says why (no payload)."""


def check_addressed_to(shop: Shop, payload: dict[str, Any]) -> None:
    """The body's ``shop_domain`` must be the shop the header named and ``shop_id`` a
    positive integer (Shopify's payload shape: fixtures/shopify/webhooks/shop__redact.json)."""
    domain = payload.get("shop_domain")
    if not isinstance(domain, str) or normalize_shop_domain(domain) != shop.domain:
        raise RejectedDelivery("body shop_domain does not match X-Shopify-Shop-Domain")
    shop_id = payload.get("shop_id")
    if isinstance(shop_id, bool) or not isinstance(shop_id, int) or shop_id <= 0:
        raise RejectedDelivery("body shop_id is missing or not a Shopify shop id")


def check_uninstalled(app_state: AppState, shop: Shop) -> None:
    """A shop we still hold a token for is erased only when Shopify refuses that token
    (app/uninstalled may have been missed); a token that still works means installed."""
    if not shop.installed or shop.access_token_enc is None:
        return
    try:
        admin_client(app_state, shop).execute(_PROBE)
    except (ShopifyUnauthorized, ShopNotInstalled):
        log.info("shop/redact: token revoked, treating the shop as uninstalled", extra={"shop": shop.domain})
        shop.installed = False
        return
    raise RejectedDelivery("shop is still installed (its access token works)")
