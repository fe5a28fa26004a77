"""app/uninstalled: Shopify has revoked the token; forget it and stop working for the shop.

Nothing more is sent for the shop: queued emails are marked suppressed (``shop_uninstalled``)
and scheduled abandoned-checkout steps are cancelled, so a reinstall does not resurrect stale
sends. The shop's data stays until shop/redact (48 h later) so a quick re-install keeps balances.
"""
from emails.delivery.suppression import suppress_queued_for_uninstalled_shop
from plugin.recovery.checkouts import cancel_all_scheduled


def handle(ctx):
    shop = ctx.shop
    shop.installed = False
    shop.uninstalled_at = ctx.now
    shop.access_token_enc = None
    shop.refresh_token_enc = None
    shop.access_token_expires_at = None
    shop.refresh_token_expires_at = None
    return {"uninstalled": True,
            "emails_suppressed": suppress_queued_for_uninstalled_shop(ctx.session, shop.id),
            "recovery_steps_cancelled": cancel_all_scheduled(ctx.session, shop.id, "shop_uninstalled")}
