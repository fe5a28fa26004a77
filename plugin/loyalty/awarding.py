"""Awarding points for an order, once, whichever order topic carries it.

Every order topic goes through ``award_points_for_order``; only the topic the program
earns on (``earn.on``) awards, under the key ``order:<id>:earn``, so duplicates and
orders/updated arriving first never award twice. The rate and tier multiplier used are
stored on the entry for later clawbacks; refunds recorded before the points existed are
applied right after the earn entry (Shopify does not order its webhooks).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from plugin.loyalty.balances import EarnDetails, lock_customer
from plugin.loyalty.order_notes import lock_order, remember_order
from plugin.loyalty.posting import post
from plugin.loyalty.redemption import mark_codes_used
from plugin.loyalty.refunds import apply_recorded_refunds
from plugin.loyalty.rules.earning import OrderFacts, available_at, earn_block_reason, points_for_order
from plugin.loyalty.rules.ledger import earn_entry
from plugin.loyalty.rules.tiers import multiplier_for, order_can_change_tier
from plugin.loyalty.status import shop_program
from plugin.loyalty.tier_sync import reevaluate_tier
from plugin.models import Customer, Shop


def award_points_for_order(session: Session, shop: Shop, order: OrderFacts, customer: Customer | None, topic: str,
                           now: datetime, source: str) -> dict:
    """Earn for ``order`` if ``topic`` is the program's trigger; remember the order either way."""
    program = shop_program(shop)
    lock_order(session, shop.id, order.order_id)
    note = remember_order(session, shop.id, order, customer.id if customer else None)
    if note.cancelled_at is None and order.cancelled_at is not None:
        note.cancelled_at = order.cancelled_at
    mark_codes_used(session, shop.id, order.discount_codes, order.earned_at)
    outcome = {"order_id": order.order_id, "points": 0}
    blocked = earn_block_reason(order, topic, program) or ("cancelled" if note.cancelled_at else None)
    if blocked is None and customer is None:
        blocked = "no_customer"
    if blocked or customer is None:
        return dict(outcome, reason=blocked)
    customer = lock_customer(session, customer.id)
    decision = points_for_order(order.merchandise, program, multiplier_for(program, customer.tier_name))
    pending = program.earn.pending_days > 0
    release = available_at(order.earned_at, program)
    entry = earn_entry(order.order_id, decision.points, pending)
    details = EarnDetails(order_id=order.order_id, base_amount=decision.base.amount, currency=decision.base.currency,
                          per_amount=decision.per_amount, points_per=decision.points_per,
                          multiplier=decision.multiplier, available_at=release if pending else None)
    new_id = post(session, program, customer, entry, occurred_at=order.earned_at, details=details, source=source,
                  reason=f"{'POS' if order.is_pos else 'online'} order {order.name or order.order_id} "
                         f"({decision.base.amount} {decision.base.currency} × {decision.multiplier})")
    if new_id is None:
        return dict(outcome, reason="already_awarded", customer_id=customer.id)
    tier = (reevaluate_tier(session, shop, customer, now, program, source=source)
            if order_can_change_tier(program, customer.tier_name) else None)
    clawed = apply_recorded_refunds(session, shop, order.order_id, now, source)
    outcome.update(points=decision.points, customer_id=customer.id, pending=pending,
                   available_at=release.isoformat() if pending else None, tier_change=tier)
    if clawed:
        outcome["refunds_applied"] = clawed
    return outcome
