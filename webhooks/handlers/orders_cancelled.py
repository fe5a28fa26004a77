"""orders/cancelled: take back every point the order still holds."""
from plugin.loyalty.refunds import claw_back_cancellation
from plugin.orders.store import record_order_payload
from plugin.referrals.attribution import on_order_refunded
from webhooks.handlers.parsing import order_facts, source


def handle(ctx):
    record_order_payload(ctx.session, ctx.shop.id, ctx.payload)
    order = order_facts(ctx)
    outcome = claw_back_cancellation(ctx.session, ctx.shop, order, ctx.now, source(ctx))
    outcome["referral"] = on_order_refunded(ctx.session, ctx.shop, order.order_id, ctx.now, source(ctx))
    return outcome
