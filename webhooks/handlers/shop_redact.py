"""shop/redact: 48 h after uninstall, delete everything we hold for the shop."""
from plugin.customers.privacy import erase_shop


def handle(ctx):
    domain = ctx.shop.domain
    erase_shop(ctx.session, ctx.shop, keep_delivery_id=ctx.delivery.id)
    return {"erased": domain}
