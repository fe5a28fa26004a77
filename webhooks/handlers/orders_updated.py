"""orders/updated: never awards (it may arrive before orders/paid); records the order for refunds."""
from plugin.orders.store import record_order_payload
from plugin.points.earning import award_points_for_order


def handle(ctx):
    record_order_payload(ctx.session, ctx.shop.id, ctx.payload)
    return award_points_for_order(ctx, "orders/updated")
