"""orders/create: award points when the program earns on this topic; referrals hear about paid orders."""
from plugin.orders.store import record_order_payload
from webhooks.handlers.paid_orders import handle_paid_order


def handle(ctx):
    record_order_payload(ctx.session, ctx.shop.id, ctx.payload)
    return handle_paid_order(ctx, "orders/create")
