"""orders/updated: never awards (it may arrive before orders/paid); records the order for refunds."""
from plugin.customers.profiles import customer_for_order
from plugin.loyalty.awarding import award_points_for_order
from webhooks.handlers.parsing import order_facts, source


def handle(ctx):
    order = order_facts(ctx)
    customer = customer_for_order(ctx.session, ctx.shop, ctx.payload)
    return award_points_for_order(ctx.session, ctx.shop, order, customer, "orders/updated", ctx.now, source(ctx))
