"""orders/paid and orders/create: award the order's points, then let referrals hear about a paid order."""
from __future__ import annotations

from plugin.customers.profiles import customer_for_order
from plugin.loyalty.awarding import award_points_for_order
from plugin.referrals.attribution import on_order_paid
from plugin.referrals.fingerprints import order_signals
from webhooks.handlers.parsing import order_facts, source
from webhooks.processing import HandlerContext


def handle_paid_order(ctx: HandlerContext, topic: str) -> dict:
    order = order_facts(ctx)
    customer = customer_for_order(ctx.session, ctx.shop, ctx.payload)
    outcome = award_points_for_order(ctx.session, ctx.shop, order, customer, topic, ctx.now, source(ctx))
    paid = topic == "orders/paid" or order.financial_status == "paid"
    if paid and customer is not None and outcome.get("reason") != "cancelled":
        outcome["referral"] = on_order_paid(ctx.session, ctx.shop, customer, order,
                                            order_signals(ctx.config.secret_key, ctx.payload), ctx.now,
                                            paid=topic == "orders/paid", secret=ctx.config.secret_key,
                                            app_url=ctx.config.app_url, source=source(ctx))
    return outcome
