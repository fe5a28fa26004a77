"""Awarding points for an order, once, whichever order topic carries it.

Every order topic goes through ``award_points_for_order``; only the topic the program
earns on (``earn.on``) awards, under the key ``order:<id>:earn``, so duplicates and
orders/updated arriving first never award twice. The rate and tier multiplier used are
stored on the entry for later clawbacks.
"""
from __future__ import annotations

from plugin.customers.consent import opt_in_from_purchase
from plugin.customers.profiles import customer_for_order
from plugin.loyalty.balances import EarnDetails, lock_customer
from plugin.loyalty.consent_points import record_consent_and_reward
from plugin.loyalty.order_notes import remember_order
from plugin.loyalty.posting import post
from plugin.loyalty.redemption import mark_codes_used
from plugin.loyalty.rules.earning import (
    OrderPayloadError,
    available_at,
    earn_block_reason,
    order_facts_from_payload,
    points_for_order,
)
from plugin.loyalty.rules.ledger import earn_entry
from plugin.loyalty.rules.tiers import multiplier_for
from plugin.loyalty.status import shop_program
from plugin.loyalty.tier_sync import reevaluate_tier


def order_facts(ctx):
    from webhooks.inbox import MalformedPayload
    try:
        return order_facts_from_payload(ctx.payload, ctx.shop.currency)
    except OrderPayloadError as exc:
        raise MalformedPayload(f"order payload: {exc}") from None


def award_points_for_order(ctx, topic: str) -> dict:
    """Earn for the order in ``ctx.payload`` if ``topic`` is the program's trigger."""
    outcome, _, _ = _award(ctx, topic)
    return outcome


def _award(ctx, topic: str):
    program = shop_program(ctx.shop)
    facts = order_facts(ctx)
    customer = customer_for_order(ctx.session, ctx.shop, ctx.payload)
    opt_in = opt_in_from_purchase(ctx.payload, "order")
    if customer is not None and opt_in is not None:
        record_consent_and_reward(ctx.session, ctx.shop, customer, opt_in, ctx.now, f"delivery:{ctx.delivery.id}")
    order = remember_order(ctx.session, ctx.shop.id, facts, customer.id if customer else None)
    if order.cancelled_at is None and facts.cancelled_at is not None:
        order.cancelled_at = facts.cancelled_at
    mark_codes_used(ctx.session, ctx.shop.id, facts.discount_codes, facts.earned_at)
    outcome = {"order_id": facts.order_id, "points": 0}
    blocked = earn_block_reason(facts, topic, program) or ("cancelled" if order.cancelled_at else None)
    if blocked is None and customer is None:
        blocked = "no_customer"
    if blocked:
        return dict(outcome, reason=blocked), customer, facts
    customer = lock_customer(ctx.session, customer.id)
    decision = points_for_order(facts.merchandise, program, multiplier_for(program, customer.tier_name))
    pending = program.earn.pending_days > 0
    release = available_at(facts.earned_at, program)
    entry = earn_entry(facts.order_id, decision.points, pending)
    details = EarnDetails(order_id=facts.order_id, base_amount=decision.base.amount, currency=decision.base.currency,
                          per_amount=decision.per_amount, points_per=decision.points_per,
                          multiplier=decision.multiplier, available_at=release if pending else None)
    source = f"delivery:{ctx.delivery.id}"
    new_id = post(ctx.session, program, customer, entry, occurred_at=facts.earned_at, details=details, source=source,
                  reason=f"{'POS' if facts.is_pos else 'online'} order {facts.name or facts.order_id} "
                         f"({decision.base.amount} {decision.base.currency} × {decision.multiplier})")
    if new_id is None:
        return dict(outcome, reason="already_awarded", customer_id=customer.id), customer, facts
    tier = reevaluate_tier(ctx.session, ctx.shop, customer, ctx.now, program, source=source)
    outcome.update(points=decision.points, customer_id=customer.id, pending=pending,
                   available_at=release.isoformat() if pending else None, tier_change=tier)
    return outcome, customer, facts


def handle_paid_order(ctx, topic: str) -> dict:
    """orders/paid and orders/create: award, then let referrals react to a paid order."""
    outcome, customer, facts = _award(ctx, topic)
    paid = topic == "orders/paid" or facts.financial_status == "paid"
    if paid and customer is not None and outcome.get("reason") != "cancelled":
        from plugin.referrals import attribution
        outcome["referral"] = attribution.on_order_paid(ctx, customer, facts)
    return outcome
