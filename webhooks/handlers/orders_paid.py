"""orders/paid: award points when the program earns on this topic; referrals hear about paid orders."""
from plugin.loyalty.awarding import handle_paid_order
from plugin.orders.store import record_order_payload


def handle(ctx):
    record_order_payload(ctx.session, ctx.shop.id, ctx.payload)
    return handle_paid_order(ctx, "orders/paid")
