"""orders/cancelled: take back every point the order still holds."""
from plugin.loyalty.refunds import claw_back_cancellation
from plugin.referrals import attribution


def handle(ctx):
    outcome = claw_back_cancellation(ctx)
    outcome["referral"] = attribution.on_order_refunded(ctx, outcome["order_id"])
    return outcome
