"""Completion and attribution: has the shopper bought, and does a recovery email get the credit?

``apply_purchase`` is called at send time for the step about to go and, for every open
checkout, by the ``track_checkout_orders`` tick task: a purchase cancels the steps not sent
yet; an order placed within the attribution window after a sent step (or with the series'
incentive code) marks the checkout recovered with its revenue in shop money and the step.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from plugin.models import Shop
from plugin.models.checkouts import SCHEDULED, SENT, AbandonedCheckout, RecoveryStep
from plugin.recovery.checkouts import cancel_scheduled
from plugin.recovery.purchases import find_completing_order
from plugin.recovery.rules.series import ATTRIBUTION_WINDOW, credited_step


def apply_purchase(session: Session, shop: Shop, checkout: AbandonedCheckout, now: datetime) -> str | None:
    """Look for the order that completed ``checkout`` (caller holds its row lock); returns how it matched."""
    steps = session.execute(select(RecoveryStep).where(RecoveryStep.checkout_id == checkout.id)).scalars().all()
    codes = {s.incentive_code for s in steps if s.incentive_code and s.incentive_created}
    match = find_completing_order(session, checkout, codes)
    if match is None:
        return None
    if checkout.completed_at is None:
        checkout.completed_at = match.placed_at
    checkout.completed_order_id = checkout.completed_order_id or match.order_id
    cancel_scheduled(session, checkout, "purchased")
    sent = [(s.step, s.sent_at) for s in steps if s.status == SENT and s.sent_at]
    code_step = next((s.step for s in steps if s.incentive_code and s.incentive_code.upper() in
                      {c.upper() for c in match.codes}), None)
    credited = credited_step(match.placed_at, sent, used_incentive_step=code_step)
    if credited is not None and checkout.recovered_at is None:
        checkout.recovered_at, checkout.recovered_order_id, checkout.recovered_step = match.placed_at, match.order_id, credited
        same_currency = match.currency in (None, shop.currency)
        checkout.recovered_revenue = match.revenue if same_currency else None
    return match.by


def open_checkout_ids(session: Session, now: datetime) -> list[int]:
    """Checkouts that could still complete or be credited: steps pending, or sent within the window."""
    recent = now - ATTRIBUTION_WINDOW - timedelta(days=1)
    steps = select(RecoveryStep.checkout_id).where(or_(
        RecoveryStep.status == SCHEDULED, (RecoveryStep.status == SENT) & (RecoveryStep.sent_at >= recent)))
    return list(session.execute(select(AbandonedCheckout.id).where(
        AbandonedCheckout.recovered_at.is_(None), AbandonedCheckout.id.in_(steps))
        .order_by(AbandonedCheckout.id)).scalars())


def track_checkout_orders(app_state, now: datetime) -> dict:
    """Tick task: completion and attribution for every open checkout (idempotent)."""
    with app_state.db.transaction() as session:
        ids = open_checkout_ids(session, now)
    completed = 0
    for checkout_id in ids:
        with app_state.db.transaction() as session:
            checkout = session.execute(select(AbandonedCheckout).where(AbandonedCheckout.id == checkout_id)
                                       .with_for_update()).scalar_one_or_none()
            if checkout is None or checkout.recovered_at is not None:
                continue
            if apply_purchase(session, session.get(Shop, checkout.shop_id), checkout, now):
                completed += 1
    return {"open": len(ids), "purchased": completed}
