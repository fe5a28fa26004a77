"""orders/updated: never awards (it may arrive before orders/paid); records the order for refunds."""
from plugin.loyalty.awarding import award_points_for_order
from plugin.orders.store import record_order_payload


def handle(ctx):
    record_order_payload(ctx.session, ctx.shop.id, ctx.payload)
    return award_points_for_order(ctx, "orders/updated")
