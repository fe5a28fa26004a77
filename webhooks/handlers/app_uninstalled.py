"""app/uninstalled: Shopify has revoked the token; forget it and stop working for the shop.

The shop's data stays until shop/redact (48 h later) so a quick re-install keeps balances.
"""


def handle(ctx):
    shop = ctx.shop
    shop.installed = False
    shop.uninstalled_at = ctx.now
    shop.access_token_enc = None
    shop.refresh_token_enc = None
    shop.access_token_expires_at = None
    shop.refresh_token_expires_at = None
    return {"uninstalled": True}
