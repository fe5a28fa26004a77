"""orders/fulfilled: award when the program earns on fulfilment; tell the feedback emails."""
from plugin.customers.profiles import customer_for_order
from plugin.loyalty.awarding import award_points_for_order
from plugin.loyalty.balances import record_event
from webhooks.handlers.parsing import order_facts, source


def handle(ctx):
    order = order_facts(ctx)
    customer = customer_for_order(ctx.session, ctx.shop, ctx.payload)
    outcome = award_points_for_order(ctx.session, ctx.shop, order, customer, "orders/fulfilled", ctx.now, source(ctx))
    customer_id = outcome.get("customer_id") or (customer.id if customer else None)
    if customer_id is not None:
        fulfilled_at = ctx.payload.get("closed_at") or ctx.payload.get("updated_at") or ctx.now.isoformat()
        outcome["event"] = record_event(ctx.session, ctx.shop.id, customer_id, "order_fulfilled",
                                        f"order:{order.order_id}:fulfilled", ctx.now,
                                        {"order_id": order.order_id, "order_name": order.name,
                                         "fulfilled_at": fulfilled_at, "locale": order.locale})
    return outcome
