"""orders/updated: never awards (it may arrive before orders/paid); records the order for refunds."""
from plugin.loyalty.awarding import award_points_for_order


def handle(ctx):
    return award_points_for_order(ctx, "orders/updated")
