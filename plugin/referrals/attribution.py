"""Hooks the order handlers call so referrals react to paid and refunded orders.

Runs inside the handler's transaction: a friend's first PAID order that used a referral
friend code (or carries our ``embajador_ref`` note attribute / landing parameter) becomes a
``Referral``; the fraud rules decide successful (advocate rewarded) or held (merchant
reviews). Everything is keyed by the friend's order id, so replays change nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.logs import get_logger
from plugin.loyalty.rules.earning import OrderFacts
from plugin.loyalty.rules.program import Program
from plugin.loyalty.status import shop_program
from plugin.models import Customer, LedgerEntry, Referral, ReferralClick, Shop
from plugin.models.referrals import CANCELLED, HELD, PENDING, REJECTED, SUCCESSFUL
from plugin.referrals.advocate_rewards import award_advocate, take_back_pending
from plugin.referrals.fingerprints import OrderSignals, advocate_party, device_hash, friend_party, record_fingerprints
from plugin.referrals.invites import maybe_record_invite
from plugin.referrals.landing import REF_PARAM
from plugin.referrals.links import advocate_by_code
from plugin.referrals.rules.fraud import VELOCITY_WINDOW_DAYS, ReferralFacts, canonical_email, fraud_reasons

PAID_STATUSES = ("paid",)
log = get_logger("referrals.attribution")


def on_order_paid(session: Session, shop: Shop, customer: Customer | None, order: OrderFacts, signals: OrderSignals,
                  now: datetime, *, paid: bool, secret: str, app_url: str, source: str,
                  count_orders: Callable[[Customer], int | None] | None = None) -> dict | None:
    """Called by orders/paid (and orders/create) after points are awarded. ``count_orders``
    asks Shopify for a customer's ``numberOfOrders``; only called for a referral being decided."""
    program = shop_program(shop)
    if program.referral is None or customer is None:
        return None
    paid = paid or order.financial_status in PAID_STATUSES
    outcome: dict = {}
    if paid:
        record_fingerprints(session, shop.id, customer.id, signals.fingerprints, now)
        if maybe_record_invite(session, shop, program, customer, order, now, app_url):
            outcome["referral_invite"] = True
    paid_order = _PaidOrder(session, shop, program, customer, order, signals, now, secret, source, count_orders)
    referral = attribute_order(paid_order, paid)
    if referral is not None:
        outcome.update(referral_id=referral.id, referral_status=referral.status)
    return outcome or None


@dataclass(frozen=True)
class _PaidOrder:
    session: Session
    shop: Shop
    program: Program
    customer: Customer
    order: OrderFacts
    signals: OrderSignals
    now: datetime
    secret: str
    source: str
    count_orders: Callable[[Customer], int | None] | None = None


def attribute_order(paid_order: _PaidOrder, paid: bool) -> Referral | None:
    session, shop, customer, facts = paid_order.session, paid_order.shop, paid_order.customer, paid_order.order
    existing = session.execute(Referral.for_shop(shop.id).where(Referral.friend_order_id == facts.order_id)
                               .with_for_update()).scalar_one_or_none()
    if existing is not None:
        if existing.status == PENDING and paid:
            decide(paid_order, existing)
        return existing
    advocate, click = find_advocate(session, shop.id, facts, paid_order.signals)
    if advocate is None:
        return None
    email = canonical_email(facts.email or customer.email)
    already = session.execute(Referral.for_shop(shop.id).where(Referral.advocate_id == advocate.id,
                                                               Referral.email == email)).scalar_one_or_none()
    if already is not None and email is not None:
        return already  # one referral per friend: a later order is not a new one
    referral = Referral(shop_id=shop.id, advocate_id=advocate.id, customer_id=customer.id, email=email,
                        friend_order_id=facts.order_id, discount_code=_friend_code_used(click, facts),
                        click_id=click.id if click else None, status=PENDING, hold_reasons=[],
                        created_at=paid_order.now)
    session.add(referral)
    session.flush()
    if paid:
        decide(paid_order, referral)
    return referral


def decide(paid_order: _PaidOrder, referral: Referral) -> None:
    """Run the fraud rules; award the advocate or hold for the merchant."""
    session, secret, customer = paid_order.session, paid_order.secret, paid_order.customer
    advocate = session.get(Customer, referral.advocate_id)
    click = session.get(ReferralClick, referral.click_id) if referral.click_id else None
    friend = friend_party(secret, customer, paid_order.order, paid_order.signals)
    referral.ip_hash = next((h for kind, h in friend.fingerprints if kind == "ip"), None) or (click.ip_hash if click else None)
    reasons = fraud_reasons(ReferralFacts(
        advocate=advocate_party(session, secret, advocate),
        friend=friend,
        click_fingerprints=_click_fingerprints(secret, click),
        referrals_from_ip=_referrals_from_ip(session, referral, paid_order.now),
        earlier_paid_orders=_earlier_paid_orders(session, customer, paid_order.order,
                                                 paid_order.count_orders(customer) if paid_order.count_orders else None),
    ))
    referral.hold_reasons = reasons
    if reasons:
        referral.status = HELD
        return
    referral.status = SUCCESSFUL
    award_advocate(session, paid_order.shop, paid_order.program, referral, paid_order.now, source=paid_order.source)


def on_order_refunded(session: Session, shop: Shop, order_id: str, now: datetime, source: str) -> dict | None:
    """Called by refunds/create and orders/cancelled after the clawback."""
    referral = session.execute(Referral.for_shop(shop.id).where(Referral.friend_order_id == str(order_id))
                               .with_for_update()).scalar_one_or_none()
    if referral is None:
        return None
    if referral.status in (CANCELLED, REJECTED):
        return {"referral_id": referral.id, "referral_status": referral.status}
    if referral.status == SUCCESSFUL:
        taken = take_back_pending(session, referral, now, source=source)
        if taken is None:  # the pending window is over: the reward stands
            return {"referral_id": referral.id, "referral_status": referral.status}
    referral.status = CANCELLED
    return {"referral_id": referral.id, "referral_status": CANCELLED}


def find_advocate(session, shop_id: int, facts, signals: OrderSignals) -> tuple[Customer | None, ReferralClick | None]:
    """By the friend code used at checkout first, then by our landing reference."""
    codes = [c.strip().upper() for c in facts.discount_codes if c and c.strip()]
    if codes:
        click = session.execute(ReferralClick.for_shop(shop_id).where(func.upper(ReferralClick.friend_code).in_(codes))
                                .order_by(ReferralClick.id).limit(1)).scalar_one_or_none()
        if click is not None:
            return session.get(Customer, click.advocate_id), click
    ref = facts.note_attribute(REF_PARAM) or _landing_ref(signals.landing_site)
    advocate = advocate_by_code(session, ref) if ref else None
    if advocate is None or advocate.shop_id != shop_id:
        return None, None
    return advocate, None


def _landing_ref(landing: str | None) -> str | None:
    if not isinstance(landing, str) or REF_PARAM not in landing:
        return None
    return (parse_qs(urlsplit(landing).query).get(REF_PARAM) or [None])[0]


def _friend_code_used(click: ReferralClick | None, facts) -> str | None:
    if click is None:
        return None
    return next((c for c in facts.discount_codes if c.strip().upper() == (click.friend_code or "").upper()), None)


def _click_fingerprints(secret: str, click: ReferralClick | None) -> frozenset:
    if click is None or click.ip_hash is None:
        return frozenset()
    found = {("ip", click.ip_hash)}
    if click.ua_hash:
        found.add(("device", device_hash(secret, click.ip_hash, click.ua_hash)))
    return frozenset(found)


def _referrals_from_ip(session, referral: Referral, now) -> int:
    if referral.ip_hash is None:
        return 0
    return session.execute(select(func.count()).select_from(Referral).where(
        Referral.shop_id == referral.shop_id, Referral.ip_hash == referral.ip_hash, Referral.id != referral.id,
        Referral.created_at >= now - timedelta(days=VELOCITY_WINDOW_DAYS))).scalar_one()


def _earlier_paid_orders(session, customer: Customer, facts, shopify_count: int | None) -> int:
    """Earn entries for other orders, or Shopify's own ``Customer.numberOfOrders`` (which
    includes this order): order payloads lost ``orders_count`` in 2022-04, and only Shopify
    knows the orders from before install."""
    earned = session.execute(select(func.count(func.distinct(LedgerEntry.order_id))).where(
        LedgerEntry.shop_id == customer.shop_id, LedgerEntry.customer_id == customer.id, LedgerEntry.kind == "earn",
        LedgerEntry.order_id.is_not(None), LedgerEntry.order_id != facts.order_id)).scalar_one()
    return max(earned, (shopify_count or 1) - 1)


__all__ = ["on_order_paid", "on_order_refunded"]
