"""refunds/create: claw back pro-rata to the merchandise refunded, at the earn rate."""
from plugin.loyalty.refunds import claw_back_refund
from plugin.referrals import attribution


def handle(ctx):
    outcome = claw_back_refund(ctx)
    outcome["referral"] = attribution.on_order_refunded(ctx, outcome["order_id"])
    return outcome
