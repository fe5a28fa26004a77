"""orders/create: award points when the program earns on this topic; referrals hear about paid orders."""
from webhooks.handlers.paid_orders import handle_paid_order


def handle(ctx):
    return handle_paid_order(ctx, "orders/create")
