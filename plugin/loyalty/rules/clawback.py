"""Taking points back when merchandise is refunded or an order is cancelled.

Clawback uses the rate the points were EARNED at (points / base of the earn
entry, which already includes that day's program and tier multiplier), never
today's program. It is computed cumulatively:

    clawed_total(refunded) = floor(points * min(refunded, base) / base)

and each refund takes ``clawed_total(after) - clawed_total(before)``. Any
sequence of partial refunds therefore sums to at most the earned points, a
refund of the full base returns exactly the earned points, and floor keeps
the shopper's points on what they kept (never more taken than pro-rata).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple, Protocol

from plugin.loyalty.rules.earning import OrderPayloadError, money_field, parse_id
from plugin.loyalty.rules.money import CurrencyMismatch, Money, quantize


class EarnRecord(Protocol):
    """What a clawback needs from the earn entry: its points and base money."""

    points: int
    base: Money


def refunded_merchandise(refund: dict[str, Any], shop_currency: str, taxes_included: bool = False) -> Money:
    """Merchandise value a refunds/create payload gives back, in shop money.

    Sums ``refund_line_items[].subtotal_set.shop_money`` (numeric ``subtotal``
    as fallback), skipping gift cards and, when the order had
    ``taxes_included``, removing each line's ``total_tax`` so the result is
    comparable with the earn base. Shipping refunds and ``order_adjustments``
    are not merchandise and are ignored.
    """
    if not isinstance(refund, dict):
        raise OrderPayloadError("refund payload must be a JSON object")
    total = Decimal(0)
    try:
        for item in refund.get("refund_line_items") or []:
            if (item.get("line_item") or {}).get("gift_card"):
                continue
            total += money_field(item, "subtotal", "shop_money", shop_currency)
            if taxes_included:
                total -= money_field(item, "total_tax", "shop_money", shop_currency)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, OrderPayloadError):
            raise
        raise OrderPayloadError(str(exc)) from exc
    return Money(quantize(max(total, Decimal(0)), shop_currency), shop_currency)


@dataclass(frozen=True)
class RefundFacts:
    """One refunds/create, parsed at the edge: which order, and the merchandise and its tax given back.

    The tax is kept apart because whether it counts depends on the order's ``taxes_included``,
    which we may only learn later (a refund can arrive before its order).
    """

    refund_id: str
    order_id: str
    merchandise: Money
    tax: Money

    def refunded(self, taxes_included: bool) -> Money:
        """The refunded merchandise comparable with the earn base (see ``refunded_merchandise``)."""
        amount = self.merchandise.amount - (self.tax.amount if taxes_included else Decimal(0))
        currency = self.merchandise.currency
        return Money(quantize(max(amount, Decimal(0)), currency), currency)


def refund_facts_from_payload(refund: dict[str, Any], shop_currency: str) -> RefundFacts:
    """The ids and the gross merchandise/tax of a refunds/create payload, or OrderPayloadError."""
    if not isinstance(refund, dict):
        raise OrderPayloadError("refund payload must be a JSON object")
    try:
        order_id, refund_id = parse_id(refund.get("order_id")), parse_id(refund.get("id"))
        if order_id is None or refund_id is None:
            raise OrderPayloadError("refund has no id or order_id")
        merchandise = tax = Decimal(0)
        for item in refund.get("refund_line_items") or []:
            if (item.get("line_item") or {}).get("gift_card"):
                continue
            merchandise += money_field(item, "subtotal", "shop_money", shop_currency)
            tax += money_field(item, "total_tax", "shop_money", shop_currency)
    except (TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, OrderPayloadError):
            raise
        raise OrderPayloadError(str(exc)) from exc
    return RefundFacts(refund_id=refund_id, order_id=order_id, merchandise=Money(merchandise, shop_currency),
                       tax=Money(tax, shop_currency))


def clawed_total(earn: EarnRecord, refunded: Money) -> int:
    """Points that should have been taken back once ``refunded`` in total was refunded."""
    base = earn.base
    if refunded.currency != base.currency:
        raise CurrencyMismatch(f"refund in {refunded.currency}, earned on {base.currency}")
    if earn.points <= 0 or base.amount <= 0 or refunded.amount <= 0:
        return 0
    share = min(Fraction(refunded.amount), Fraction(base.amount)) / Fraction(base.amount)
    return math.floor(earn.points * share)


def clawback_for_refund(
    earn: EarnRecord, refunded_before: Money, refunded_now: Money, already_clawed: int | None = None
) -> int:
    """Points to take back for a refund of ``refunded_now`` after ``refunded_before``.

    Pass ``already_clawed`` (sum of earlier clawbacks for the order, including a
    cancellation's) so a refund arriving after a cancellation takes nothing more.
    """
    target = clawed_total(earn, refunded_before + refunded_now)
    previous = clawed_total(earn, refunded_before) if already_clawed is None else already_clawed
    return max(0, min(target, earn.points) - previous)


def clawback_for_cancellation(earn: EarnRecord, already_clawed: int) -> int:
    """A cancelled order keeps nothing: take back whatever is still unclawed."""
    return max(0, earn.points - already_clawed)


class ClawbackSplit(NamedTuple):
    """``(from_pending, from_available, shortfall)``; unpacks like a tuple."""

    from_pending: int
    from_available: int
    shortfall: int


def split_clawback(points: int, pending: int, available: int, allow_negative: bool) -> ClawbackSplit:
    """Take from pending points first (not yet promised as spendable), then available.

    Without ``allow_negative`` the available balance stops at zero and the rest
    is a ``shortfall`` the merchant has written off (the points were already spent).
    """
    if points < 0:
        raise ValueError("clawback must not be negative")
    from_pending = min(points, max(pending, 0))
    rest = points - from_pending
    from_available = rest if allow_negative else min(rest, max(available, 0))
    return ClawbackSplit(from_pending, from_available, rest - from_available)
