"""The advocate's reward in the ledger: awarded once per friend, taken back on a refund.

Points go through ``post_entry`` with kind ``referral`` and ``referral_key(friend order)``,
pending for ``referral.pending_days`` (``available_at``), so the loyalty engine's release
task settles them like any earn, and the ``referrals`` tier metric counts the row.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.loyalty.balances import EarnDetails, lock_customer, post_entry, record_event
from plugin.loyalty.posting import post
from plugin.loyalty.rules.ledger import Entry, clawback_entry, referral_key
from plugin.loyalty.rules.program import Program
from plugin.loyalty.tier_sync import reevaluate_tier
from plugin.models import Customer, LedgerEntry, Referral
from plugin.outbound.outbox import emit_referral_completed


def reward_key(referral: Referral) -> str:
    return referral_key(referral.friend_order_id)


def award_advocate(session: Session, shop, program: Program, referral: Referral, now: datetime, source: str) -> int:
    """Post the advocate's points (idempotent by key), the ``referral_reward`` event, and
    re-evaluate the advocate's tier (tiers can be reached by number of referrals)."""
    points = program.referral.advocate_points if program.referral else 0
    advocate = lock_customer(session, referral.advocate_id)
    days = program.referral_pending_days
    key = reward_key(referral)
    entry = Entry(key, "referral", pending=points) if days > 0 else Entry(key, "referral", available=points)
    available_at = now + timedelta(days=days) if days > 0 else None
    new_id = post(session, program, advocate, entry, reason=f"Referral: friend's order {referral.friend_order_id}",
                        source=source, occurred_at=now,
                        details=EarnDetails(order_id=referral.friend_order_id, available_at=available_at))
    if new_id is not None:
        referral.points_awarded = points
        record_event(session, referral.shop_id, advocate.id, "referral_reward", f"{key}:reward", now, {
            "points_awarded": points, "friend_first_name": _friend_first_name(session, referral),
            "available_at": available_at.isoformat() if available_at else None}, about_customer_id=referral.customer_id)
        reevaluate_tier(session, shop, advocate, now, program, source=source)
        if referral.id is None:
            session.flush()
        emit_referral_completed(session, advocate, referral.id, referral.friend_order_id, points, now)
    return points if new_id is not None else 0


def take_back_pending(session: Session, referral: Referral, now: datetime, source: str) -> int | None:
    """Claw back what is still pending of the reward; None when the window is over (kept)."""
    key = reward_key(referral)
    rows = session.execute(select(LedgerEntry).where(LedgerEntry.shop_id == referral.shop_id,
                                                     (LedgerEntry.key == key) | (LedgerEntry.ref == key))).scalars().all()
    reward = next((r for r in rows if r.key == key), None)
    if reward is None:
        return 0
    remaining = sum(r.pending for r in rows)
    window_open = reward.available_at is not None and now < reward.available_at
    if remaining <= 0 or not window_open:
        return None
    advocate = lock_customer(session, referral.advocate_id)
    post_entry(session, advocate, clawback_entry(f"{key}:cancel", key, from_pending=remaining, from_available=0),
               reason=f"Referral cancelled: friend's order {referral.friend_order_id} refunded or cancelled",
               source=source, occurred_at=now, details=EarnDetails(order_id=referral.friend_order_id))
    return remaining


def _friend_first_name(session: Session, referral: Referral) -> str | None:
    if referral.customer_id is None:
        return None
    return session.execute(select(Customer.first_name).where(Customer.id == referral.customer_id)).scalar_one_or_none()
