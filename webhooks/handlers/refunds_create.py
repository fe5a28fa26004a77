"""refunds/create: claw back pro-rata to the merchandise refunded, at the earn rate."""
from plugin.loyalty.refunds import claw_back_refund
from plugin.referrals.attribution import on_order_refunded
from webhooks.handlers.parsing import refund_facts, source


def handle(ctx):
    refund = refund_facts(ctx)
    outcome = claw_back_refund(ctx.session, ctx.shop, refund, ctx.now, source(ctx))
    outcome["referral"] = on_order_refunded(ctx.session, ctx.shop, refund.order_id, ctx.now, source(ctx))
    return outcome
