"""orders/updated: never awards (it may arrive before orders/paid); records the order for refunds."""
from plugin.points.earning import award_points_for_order


def handle(ctx):
    return award_points_for_order(ctx, "orders/updated")
