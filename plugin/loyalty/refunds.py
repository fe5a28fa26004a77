"""Taking points back for refunds and cancellations, at the rate they were earned.

The earn entry carries base and rate; earlier clawbacks of the order (ref = earn key)
carry the refunded merchandise in ``base_amount``, so cumulative pro-rata math needs
nothing but the ledger. Pending points of that order go first; without
``allow_negative_balance`` the rest stops at zero and the shortfall is recorded.

Every refund is also noted in ``loyalty_refunds``: one that arrives before its order has
earned is applied when the earn entry is posted, under the same key, so either arrival
order ends with the same ledger and a replay never takes twice.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.db import insert_ignoring_conflicts
from plugin.loyalty.balances import EarnDetails, lock_customer
from plugin.loyalty.order_notes import find_order, lock_order, remember_order
from plugin.loyalty.posting import post
from plugin.loyalty.rules.clawback import RefundFacts, clawback_for_cancellation, clawback_for_refund, split_clawback
from plugin.loyalty.rules.earning import OrderFacts
from plugin.loyalty.rules.ledger import cancel_key, clawback_entry, clawback_key, earn_key
from plugin.loyalty.rules.money import Money
from plugin.loyalty.status import shop_program
from plugin.loyalty.tier_sync import reevaluate_tier
from plugin.models import LedgerEntry, LoyaltyRefund, Shop


class _Earned:
    def __init__(self, row: LedgerEntry):
        self.points = row.available + row.pending
        self.base = Money(row.base_amount or Decimal(0), row.currency)


def _earn_row(session, shop_id: int, order_id: str) -> LedgerEntry | None:
    return session.execute(select(LedgerEntry).where(LedgerEntry.shop_id == shop_id,
                                                     LedgerEntry.key == earn_key(order_id))).scalar_one_or_none()


def _clawed_so_far(session, shop_id: int, ref: str, customer_id: int) -> tuple[int, Decimal, int]:
    """(points already clawed, merchandise already refunded, points of the order still pending)."""
    row = session.execute(select(
        func.coalesce(func.sum(-(LedgerEntry.available + LedgerEntry.pending))
                      .filter(LedgerEntry.kind == "clawback"), 0),
        func.coalesce(func.sum(LedgerEntry.base_amount).filter(LedgerEntry.kind == "clawback"), 0),
        func.coalesce(func.sum(LedgerEntry.pending), 0))
        .where(LedgerEntry.shop_id == shop_id, LedgerEntry.customer_id == customer_id,  # indexed: no shop-wide scan
               (LedgerEntry.ref == ref) | (LedgerEntry.key == ref))).one()
    return int(row[0]), Decimal(row[1]), int(row[2])


def _take_back(session: Session, shop: Shop, earn: LedgerEntry, key: str, points: int, refunded: Decimal, label: str,
               now: datetime, source: str) -> dict:
    program = shop_program(shop)
    customer = lock_customer(session, earn.customer_id)
    _, _, order_pending = _clawed_so_far(session, shop.id, earn.key, earn.customer_id)
    split = split_clawback(points, order_pending, customer.points_available, program.allow_negative_balance)
    reason = f"{label} of order {earn.order_id}"
    if split.shortfall:
        reason += f"; {split.shortfall} points already spent, written off"
    new_id = post(session, program, customer, clawback_entry(key, earn.key, split.from_pending,
                                                             split.from_available),
                  reason=reason, source=source, occurred_at=now,
                  details=EarnDetails(order_id=earn.order_id, base_amount=refunded, currency=earn.currency))
    if new_id is None:
        return {"points": 0, "reason": "already_clawed_back"}
    reevaluate_tier(session, shop, customer, now, program)
    return {"points": -(split.from_pending + split.from_available), "from_pending": split.from_pending,
            "shortfall": split.shortfall, "customer_id": customer.id}


def _claw_back_for(session: Session, shop: Shop, earn: LedgerEntry, refund_id: str, refunded: Money, now: datetime,
                   source: str) -> dict:
    clawed, refunded_before, _ = _clawed_so_far(session, shop.id, earn.key, earn.customer_id)
    points = clawback_for_refund(_Earned(earn), Money(refunded_before, earn.currency), refunded, already_clawed=clawed)
    if points == 0:
        return {"points": 0, "reason": "nothing_to_claw_back"}
    return _take_back(session, shop, earn, clawback_key(refund_id), points, refunded.amount, "refund", now, source)


def record_refund(session: Session, shop: Shop, refund: RefundFacts) -> None:
    """Note the refund (once per refund id) so it counts even if its order earns later."""
    insert_ignoring_conflicts(session, LoyaltyRefund, dict(
        shop_id=shop.id, refund_id=refund.refund_id, order_id=refund.order_id, merchandise=refund.merchandise.amount,
        tax=refund.tax.amount, currency=refund.merchandise.currency), ["shop_id", "refund_id"])


def claw_back_refund(session: Session, shop: Shop, refund: RefundFacts, now: datetime, source: str) -> dict:
    """refunds/create: pro-rata to the merchandise refunded so far (or later, once the order earns)."""
    lock_order(session, shop.id, refund.order_id)
    record_refund(session, shop, refund)
    order = find_order(session, shop.id, refund.order_id)
    refunded = refund.refunded(order.taxes_included if order else False)
    outcome = {"order_id": refund.order_id, "refunded": str(refunded.amount)}
    earn = _earn_row(session, shop.id, refund.order_id)
    if earn is None:
        return dict(outcome, points=0, reason="no_points_earned_on_order")
    return dict(outcome, **_claw_back_for(session, shop, earn, refund.refund_id, refunded, now, source))


def apply_recorded_refunds(session: Session, shop: Shop, order_id: str, now: datetime, source: str) -> int:
    """Right after an order's earn entry (and its tier check): the refunds that came first, in arrival
    order, exactly as if each arrived now; returns the points taken back (≤ 0)."""
    refunds = session.execute(select(LoyaltyRefund).where(LoyaltyRefund.shop_id == shop.id,
                                                          LoyaltyRefund.order_id == order_id)
                              .order_by(LoyaltyRefund.id)).scalars().all()
    earn = _earn_row(session, shop.id, order_id) if refunds else None
    if earn is None:
        return 0
    order = find_order(session, shop.id, order_id)
    taxes_included = order.taxes_included if order else False
    total = 0
    for row in refunds:
        facts = RefundFacts(refund_id=row.refund_id, order_id=row.order_id, merchandise=Money(row.merchandise,
                            row.currency), tax=Money(row.tax, row.currency))
        taken = _claw_back_for(session, shop, earn, row.refund_id, facts.refunded(taxes_included), now, source)
        total += taken["points"]
    return total


def claw_back_cancellation(session: Session, shop: Shop, order: OrderFacts, now: datetime, source: str) -> dict:
    """orders/cancelled: the order keeps nothing; a later orders/paid will not award."""
    order_id = order.order_id
    lock_order(session, shop.id, order_id)
    note = remember_order(session, shop.id, order, None)
    if note.cancelled_at is None:
        note.cancelled_at = order.cancelled_at or now
    earn = _earn_row(session, shop.id, order_id)
    if earn is None:
        return {"order_id": order_id, "points": 0, "reason": "no_points_earned_on_order"}
    clawed, refunded_before, _ = _clawed_so_far(session, shop.id, earn.key, earn.customer_id)
    points = clawback_for_cancellation(_Earned(earn), clawed)
    if points == 0:
        return {"order_id": order_id, "points": 0, "reason": "nothing_to_claw_back"}
    return dict({"order_id": order_id}, **_take_back(session, shop, earn, cancel_key(order_id), points,
                                                     max(earn.base_amount - refunded_before, Decimal(0)),
                                                     "cancellation", now, source))
