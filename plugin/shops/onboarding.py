"""What happens once a shop grants access: store it, learn its currency/locale, and — for custom
apps only — subscribe webhooks.

OAuth and token-exchange installs get their webhooks from the app-specific subscriptions in
``shopify.app.toml`` (Shopify's recommendation; compliance topics can only live there), so
nothing is registered per shop and each event arrives once. A custom app added with
``embajador shop add`` has no toml: it registers the same topics through the Admin API.
"""
from __future__ import annotations

from datetime import datetime

from plugin.logs import get_logger
from plugin.models import Shop
from plugin.shopify.oauth import TokenSet
from plugin.shopify.shop_profile import fetch_shop_profile
from plugin.shopify.webhook_subscriptions import METAFIELD_NAMESPACES, SUBSCRIBED_TOPICS, register_webhooks
from plugin.shops.tokens import admin_client, install_shop

log = get_logger("onboarding")


def complete_installation(app_state, domain: str, tokens: TokenSet, now: datetime, *,
                          register_topics: bool = False) -> Shop:
    """Idempotent: a re-install updates the same shop row (and re-checks subscriptions when asked)."""
    with app_state.db.transaction() as session:
        shop = install_shop(session, app_state.cipher, domain, tokens, now)
        shop_id = shop.id
    client = admin_client(app_state, shop)
    profile = fetch_shop_profile(client)
    if register_topics:
        register_webhooks(client, f"{app_state.config.app_url}/webhooks", SUBSCRIBED_TOPICS, METAFIELD_NAMESPACES)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        shop.name = profile.name
        shop.currency = profile.currency_code
        shop.primary_locale = (profile.primary_locale or "en")[:16]
        shop.iana_timezone = profile.iana_timezone
        prepare_new_shop(app_state, shop)
    log.info("shop installed", extra={"shop": domain})
    return shop


def prepare_new_shop(app_state, shop: Shop) -> None:
    """Run the features' setup steps for a shop (the default loyalty program, …); each is idempotent."""
    for step in app_state.shop_setup:
        step(shop)
