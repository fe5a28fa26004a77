"""Taking points back for refunds and cancellations, at the rate they were earned.

The earn entry carries base and rate; earlier clawbacks of the order (ref = earn key)
carry the refunded merchandise in ``base_amount``, so cumulative pro-rata math needs
nothing but the ledger. Pending points of that order go first; without
``allow_negative_balance`` the rest stops at zero and the shortfall is recorded.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from plugin.loyalty.rules.clawback import clawback_for_cancellation, clawback_for_refund, refunded_merchandise, \
    split_clawback
from plugin.loyalty.rules.earning import OrderPayloadError, parse_id
from plugin.loyalty.rules.ledger import cancel_key, clawback_entry, clawback_key, earn_key
from plugin.loyalty.rules.money import Money
from plugin.models import LedgerEntry

from plugin.loyalty.balances import EarnDetails, lock_customer
from plugin.loyalty.order_notes import find_order, remember_order
from plugin.loyalty.posting import post
from plugin.loyalty.status import shop_program
from plugin.loyalty.tier_sync import reevaluate_tier


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


def _take_back(ctx, earn: LedgerEntry, key: str, points: int, refunded: Decimal, label: str) -> dict:
    program = shop_program(ctx.shop)
    customer = lock_customer(ctx.session, earn.customer_id)
    _, _, order_pending = _clawed_so_far(ctx.session, ctx.shop.id, earn.key, earn.customer_id)
    split = split_clawback(points, order_pending, customer.points_available, program.allow_negative_balance)
    reason = f"{label} of order {earn.order_id}"
    if split.shortfall:
        reason += f"; {split.shortfall} points already spent, written off"
    new_id = post(ctx.session, program, customer, clawback_entry(key, earn.key, split.from_pending,
                                                                 split.from_available),
                  reason=reason, source=f"delivery:{ctx.delivery.id}", occurred_at=ctx.now,
                  details=EarnDetails(order_id=earn.order_id, base_amount=refunded, currency=earn.currency))
    if new_id is None:
        return {"points": 0, "reason": "already_clawed_back"}
    reevaluate_tier(ctx.session, ctx.shop, customer, ctx.now, program)
    return {"points": -(split.from_pending + split.from_available), "from_pending": split.from_pending,
            "shortfall": split.shortfall, "customer_id": customer.id}


def claw_back_refund(ctx) -> dict:
    """refunds/create: pro-rata to the merchandise refunded so far."""
    from webhooks.inbox import MalformedPayload
    try:
        order_id, refund_id = parse_id(ctx.payload.get("order_id")), parse_id(ctx.payload.get("id"))
        if order_id is None or refund_id is None:
            raise OrderPayloadError("refund has no id or order_id")
        order = find_order(ctx.session, ctx.shop.id, order_id)
        refunded = refunded_merchandise(ctx.payload, ctx.shop.currency, order.taxes_included if order else False)
    except (OrderPayloadError, ValueError, TypeError) as exc:
        raise MalformedPayload(f"refund payload: {exc}") from None
    outcome = {"order_id": order_id, "refunded": str(refunded.amount)}
    earn = _earn_row(ctx.session, ctx.shop.id, order_id)
    if earn is None:
        return dict(outcome, points=0, reason="no_points_earned_on_order")
    clawed, refunded_before, _ = _clawed_so_far(ctx.session, ctx.shop.id, earn.key, earn.customer_id)
    points = clawback_for_refund(_Earned(earn), Money(refunded_before, earn.currency), refunded, already_clawed=clawed)
    if points == 0:
        return dict(outcome, points=0, reason="nothing_to_claw_back")
    return dict(outcome, **_take_back(ctx, earn, clawback_key(refund_id), points, refunded.amount, "refund"))


def claw_back_cancellation(ctx) -> dict:
    """orders/cancelled: the order keeps nothing; a later orders/paid will not award."""
    from plugin.loyalty.awarding import order_facts
    facts = order_facts(ctx)
    order_id = facts.order_id
    order = remember_order(ctx.session, ctx.shop.id, facts, None)
    if order.cancelled_at is None:
        order.cancelled_at = facts.cancelled_at or ctx.now
    earn = _earn_row(ctx.session, ctx.shop.id, order_id)
    if earn is None:
        return {"order_id": order_id, "points": 0, "reason": "no_points_earned_on_order"}
    clawed, refunded_before, _ = _clawed_so_far(ctx.session, ctx.shop.id, earn.key, earn.customer_id)
    points = clawback_for_cancellation(_Earned(earn), clawed)
    if points == 0:
        return {"order_id": order_id, "points": 0, "reason": "nothing_to_claw_back"}
    return dict({"order_id": order_id}, **_take_back(ctx, earn, cancel_key(order_id), points,
                                                     max(earn.base_amount - refunded_before, Decimal(0)),
                                                     "cancellation"))

