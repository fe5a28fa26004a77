"""``referral_invite``: after a customer's Nth paid order, invite them to share their link (once)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.loyalty.balances import record_event
from plugin.models import Customer, CustomerEvent, LedgerEntry, Shop
from plugin.referrals.links import referral_link

INVITE_AFTER_PAID_ORDERS = 2


def invite_key(customer: Customer) -> str:
    return f"customer:{customer.id}:referral_invite"


def maybe_record_invite(session: Session, shop: Shop, program, customer: Customer, facts, now: datetime,
                        app_url: str) -> bool:
    """Record the event when this paid order is the customer's Nth; True if recorded now."""
    if program.referral is None or customer.redacted_at is not None:
        return False
    # One round trip: is the invite already recorded, and how many other orders earned (counted
    # only up to what the threshold needs: the cost does not grow with the customer's history)?
    others = (select(LedgerEntry.order_id).where(
        LedgerEntry.shop_id == shop.id, LedgerEntry.customer_id == customer.id, LedgerEntry.kind == "earn",
        LedgerEntry.order_id.is_not(None), LedgerEntry.order_id != facts.order_id)
        .distinct().limit(INVITE_AFTER_PAID_ORDERS - 1).subquery())
    invited, earned_before = session.execute(select(
        select(CustomerEvent.id).where(CustomerEvent.shop_id == shop.id,
                                       CustomerEvent.key == invite_key(customer)).exists(),
        select(func.count()).select_from(others).scalar_subquery())).one()
    if invited or earned_before + 1 < INVITE_AFTER_PAID_ORDERS:
        return False
    link = referral_link(session, shop, customer, app_url)
    friend = program.referral.friend
    return record_event(session, shop.id, customer.id, "referral_invite", invite_key(customer), now, {
        "referral_url": link["url"], "referral_code": link["code"], "advocate_points": program.referral.advocate_points,
        "friend_reward": {"type": friend.type, "value": None if friend.value is None else str(friend.value)},
    }) is not None
