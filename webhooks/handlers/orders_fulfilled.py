"""orders/fulfilled: award when the program earns on fulfilment; tell the feedback emails."""
from plugin.loyalty.awarding import award_points_for_order, order_facts
from plugin.loyalty.balances import record_event


def handle(ctx):
    outcome = award_points_for_order(ctx, "orders/fulfilled")
    customer_id = outcome.get("customer_id") or _customer_id(ctx)
    if customer_id is not None:
        facts = order_facts(ctx)
        fulfilled_at = ctx.payload.get("closed_at") or ctx.payload.get("updated_at") or ctx.now.isoformat()
        outcome["event"] = record_event(ctx.session, ctx.shop.id, customer_id, "order_fulfilled",
                                        f"order:{facts.order_id}:fulfilled", ctx.now,
                                        {"order_id": facts.order_id, "order_name": facts.name,
                                         "fulfilled_at": fulfilled_at, "locale": facts.locale})
    return outcome


def _customer_id(ctx):
    from plugin.customers.profiles import customer_for_order
    customer = customer_for_order(ctx.session, ctx.shop, ctx.payload)
    return customer.id if customer else None
