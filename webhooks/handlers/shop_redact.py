"""shop/redact: 48 h after uninstall, delete everything we hold for the shop — only when the
body names the shop the header named and the shop is really uninstalled."""
from plugin.customers.privacy import erase_shop
from webhooks.compliance import check_addressed_to, check_uninstalled


def handle(ctx):
    check_addressed_to(ctx.shop, ctx.payload)
    check_uninstalled(ctx.app_state, ctx.shop)
    domain = ctx.shop.domain
    erase_shop(ctx.session, ctx.shop, keep_delivery_id=ctx.delivery.id)
    return {"erased": domain}
