"""orders/updated: never awards (it may arrive before orders/paid); records the order for refunds."""
from plugin.customers.profiles import customer_for_order
from plugin.loyalty.awarding import award_points_for_order
from plugin.orders.store import record_order_payload
from webhooks.handlers.parsing import order_facts, source


def handle(ctx):
    record_order_payload(ctx.session, ctx.shop.id, ctx.payload)
    order = order_facts(ctx)
    customer = customer_for_order(ctx.session, ctx.shop, ctx.payload)
    return award_points_for_order(ctx.session, ctx.shop, order, customer, "orders/updated", ctx.now, source(ctx))
