"""What happens once a shop grants access: store it, learn its currency/locale, subscribe webhooks."""
from __future__ import annotations

from datetime import datetime

from plugin.logs import get_logger
from plugin.shopify.oauth import TokenSet
from plugin.shopify.shop_profile import fetch_shop_profile
from plugin.shopify.webhook_subscriptions import register_webhooks
from plugin.shops.tokens import admin_client, install_shop

log = get_logger("onboarding")


def complete_installation(app_state, domain: str, tokens: TokenSet, now: datetime):
    """Idempotent: a re-install updates the same shop row and re-checks subscriptions."""
    from webhooks.topics import SUBSCRIBED_TOPICS

    with app_state.db.transaction() as session:
        shop = install_shop(session, app_state.cipher, domain, tokens, now)
        shop_id = shop.id
    client = admin_client(app_state, shop)
    profile = fetch_shop_profile(client)
    register_webhooks(client, f"{app_state.config.app_url}/webhooks", SUBSCRIBED_TOPICS)
    with app_state.db.transaction() as session:
        from plugin.models import Shop
        shop = session.get(Shop, shop_id)
        shop.name = profile.name
        shop.currency = profile.currency_code
        shop.primary_locale = (profile.primary_locale or "en")[:16]
        shop.iana_timezone = profile.iana_timezone
        ensure_program(shop)
    log.info("shop installed", extra={"shop": domain})
    return shop


def ensure_program(shop) -> None:
    """A new shop starts with the default program in its own currency and language."""
    from plugin.loyalty.rules.program import default_program, dump_program
    if not shop.program:
        shop.program = dump_program(default_program(shop.currency, shop.primary_locale))
