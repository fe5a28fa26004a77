"""orders/cancelled: take back every point the order still holds."""
from plugin.loyalty.refunds import claw_back_cancellation
from plugin.referrals.attribution import on_order_refunded
from webhooks.handlers.parsing import order_facts, source


def handle(ctx):
    order = order_facts(ctx)
    outcome = claw_back_cancellation(ctx.session, ctx.shop, order, ctx.now, source(ctx))
    outcome["referral"] = on_order_refunded(ctx.session, ctx.shop, order.order_id, ctx.now, source(ctx))
    return outcome
