"""orders/paid and orders/create: award the order's points, then let referrals hear about a paid order."""
from __future__ import annotations

from plugin.customers.consent import opt_in_from_purchase
from plugin.customers.profiles import customer_for_order
from plugin.loyalty.awarding import award_points_for_order
from plugin.loyalty.consent_points import record_consent_and_reward
from plugin.loyalty.order_notes import lock_order
from plugin.referrals.attribution import on_order_paid
from plugin.referrals.fingerprints import order_signals
from plugin.shops.customer_sync import shopify_order_count
from webhooks.handlers.parsing import order_facts, source
from webhooks.processing import HandlerContext


def handle_paid_order(ctx: HandlerContext, topic: str) -> dict:
    order = order_facts(ctx)
    lock_order(ctx.session, ctx.shop.id, order.order_id)  # before the customer's row lock (consent points)
    # Locked now: awarding locks it anyway, and this saves that second SELECT of the row.
    customer = customer_for_order(ctx.session, ctx.shop, ctx.payload, lock=True)
    opt_in = opt_in_from_purchase(ctx.payload, "order")  # buyer_accepts_marketing: true
    if customer is not None and opt_in is not None:
        record_consent_and_reward(ctx.session, ctx.shop, customer, opt_in, ctx.now, source(ctx))
    outcome = award_points_for_order(ctx.session, ctx.shop, order, customer, topic, ctx.now, source(ctx))
    paid = topic == "orders/paid" or order.financial_status == "paid"
    if paid and customer is not None and outcome.get("reason") != "cancelled":
        outcome["referral"] = on_order_paid(ctx.session, ctx.shop, customer, order,
                                            order_signals(ctx.config.secret_key, ctx.payload), ctx.now,
                                            paid=topic == "orders/paid", secret=ctx.config.secret_key,
                                            app_url=ctx.config.app_url, source=source(ctx),
                                            count_orders=lambda c: shopify_order_count(ctx.app_state, ctx.shop, c))
    return outcome
