"""From a Shopify order payload to the points it earns.

Net merchandise (the earn base) is measured in SHOP money, never presentment,
so a shopper paying in EUR earns the same as one paying in the shop's CLP:

    subtotal_price_set.shop_money        (line items after every discount,
                                          before shipping, duties, tips; Shopify
                                          includes tax here when taxes_included)
  - gift-card line items (net of their discounts): a gift card is money, not a
    purchase; the shopper earns when the card is spent
  - line-item tax when ``taxes_included`` is true (tax is never rewarded)

It is the ORIGINAL subtotal, not ``current_subtotal_price_set``: later refunds
and cancellations reach us as their own webhooks and are clawed back from this
base (clawback.py), so using the already-reduced value would deduct them twice.

Points are always floored: ``floor(base / per_amount * points * multiplier)``.
A shopper never gets a point the program did not promise, and a refund of the
whole base takes back exactly what was given.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from plugin.loyalty.rules.money import Money, money, quantize
from plugin.loyalty.rules.program import Program


class OrderPayloadError(ValueError):
    """The order payload lacks something we need or is in another currency."""


@dataclass(frozen=True)
class OrderFacts:
    """What the loyalty rules need from one order, parsed once at the edge."""

    order_id: str
    name: str | None
    customer_id: str | None
    email: str | None
    source_name: str | None
    financial_status: str | None
    created_at: datetime
    processed_at: datetime | None
    cancelled_at: datetime | None
    discount_codes: tuple[str, ...]
    checkout_token: str | None
    note_attributes: tuple[tuple[str, str], ...]
    merchandise: Money
    presentment_merchandise: Money
    taxes_included: bool
    test: bool
    locale: str | None

    @property
    def is_pos(self) -> bool:
        return self.source_name == "pos"

    @property
    def earned_at(self) -> datetime:
        """When the purchase happened (POS orders can be synced late: processed_at wins)."""
        return self.processed_at or self.created_at

    def note_attribute(self, name: str) -> str | None:
        return next((value for key, value in self.note_attributes if key == name), None)


@dataclass(frozen=True)
class EarnDecision:
    """Points for one order and the exact rate used, stored with the earn entry."""

    points: int
    base: Money
    per_amount: Decimal
    points_per: int
    multiplier: Decimal


def parse_id(value: Any) -> str | None:
    """Shopify ids as text: they exceed 2**53 and must never pass through float."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"refusing id {value!r}: parse JSON with parse_float=Decimal and keep ids as int/str")
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise ValueError(f"not an id: {value!r}")
        value = int(value)
    text = str(value).strip()
    if text.startswith("gid://"):
        text = text.rsplit("/", 1)[-1]
    if not text.isdigit():
        raise ValueError(f"not a Shopify id: {value!r}")
    return text


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 timestamp from Shopify as an aware UTC datetime."""
    if value in (None, ""):
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a UTC offset: {value!r}")
    return parsed.astimezone(UTC)


def normalize_email(value: Any) -> str | None:
    text = (value or "").strip().lower() if isinstance(value, str) else ""
    return text if "@" in text else None


def _side(money_set: Any, side: str, field_name: str) -> tuple[Decimal, str] | None:
    if not isinstance(money_set, dict) or not isinstance(money_set.get(side), dict):
        return None
    inner = money_set[side]
    try:
        return money(inner["amount"], inner["currency_code"]).amount, inner["currency_code"]
    except (KeyError, ValueError) as exc:
        raise OrderPayloadError(f"{field_name}.{side}: {exc}") from None


def money_field(obj: dict[str, Any], base: str, side: str, currency: str) -> Decimal:
    """``<base>_set.<side>.amount`` checked against ``currency``; plain ``<base>`` as fallback."""
    found = _side(obj.get(f"{base}_set"), side, f"{base}_set")
    if found is not None:
        amount, code = found
        if code != currency:
            raise OrderPayloadError(f"{base}_set.{side} is in {code}, expected {currency}")
        return amount
    if obj.get(base) is None:
        return Decimal(0)
    return money(obj[base], currency).amount


def net_merchandise(payload: dict[str, Any], side: str, currency: str) -> Money:
    """Net merchandise value of an order on ``side`` ('shop_money' or 'presentment_money')."""
    if payload.get("subtotal_price_set") is None and payload.get("subtotal_price") is None:
        raise OrderPayloadError("order has no subtotal_price_set")
    if side == "shop_money" and payload.get("subtotal_price_set") is None and payload.get("currency") != currency:
        raise OrderPayloadError(f"order currency {payload.get('currency')} is not the shop currency {currency}")
    total = money_field(payload, "subtotal_price", side, currency)
    taxes_included = bool(payload.get("taxes_included"))
    for line in payload.get("line_items") or []:
        if line.get("gift_card"):
            gross = money_field(line, "price", side, currency) * int(line.get("quantity") or 0)
            allocations = line.get("discount_allocations") or []
            discounts = sum((money_field(a, "amount", side, currency) for a in allocations), Decimal(0))
            total -= gross - discounts
        elif taxes_included:
            total -= sum((money_field(t, "price", side, currency) for t in line.get("tax_lines") or []), Decimal(0))
    return Money(max(total, Decimal(0)), currency)


def _presentment_currency(payload: dict[str, Any]) -> str:
    found = _side(payload.get("subtotal_price_set"), "presentment_money", "subtotal_price_set")
    if found is None:
        raise OrderPayloadError("subtotal_price_set.presentment_money is missing")
    return found[1]


def order_facts_from_payload(payload: dict[str, Any], shop_currency: str) -> OrderFacts:
    """Parse an orders/* webhook body (json.loads(..., parse_float=Decimal)) into OrderFacts."""
    if not isinstance(payload, dict):
        raise OrderPayloadError("order payload must be a JSON object")
    try:
        order_id = parse_id(payload.get("id"))
        if order_id is None:
            order_id = parse_id(payload.get("admin_graphql_api_id"))
        if order_id is None:
            raise OrderPayloadError("order has no id")
        customer = payload.get("customer") or {}
        created_at = parse_time(payload.get("created_at"))
        if created_at is None:
            raise OrderPayloadError("order has no created_at")
        merchandise = quantize_money(net_merchandise(payload, "shop_money", shop_currency))
        if _side(payload.get("subtotal_price_set"), "presentment_money", "subtotal_price_set") is None:
            shown = merchandise  # older payloads without *_set: only shop money exists
        else:
            shown = quantize_money(net_merchandise(payload, "presentment_money", _presentment_currency(payload)))
        return OrderFacts(
            order_id=order_id,
            name=payload.get("name"),
            customer_id=parse_id(customer.get("id")),
            email=normalize_email(payload.get("email")) or normalize_email(payload.get("contact_email"))
            or normalize_email(customer.get("email")),
            source_name=payload.get("source_name"),
            financial_status=payload.get("financial_status"),
            created_at=created_at,
            processed_at=parse_time(payload.get("processed_at")),
            cancelled_at=parse_time(payload.get("cancelled_at")),
            discount_codes=tuple(str(d.get("code")) for d in payload.get("discount_codes") or [] if d.get("code")),
            checkout_token=payload.get("checkout_token") or None,
            note_attributes=tuple(
                (str(a.get("name")), str(a.get("value"))) for a in payload.get("note_attributes") or [] if a.get("name")
            ),
            merchandise=merchandise,
            presentment_merchandise=shown,
            taxes_included=bool(payload.get("taxes_included")),
            test=bool(payload.get("test")),
            locale=payload.get("customer_locale") or None,
        )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, OrderPayloadError):
            raise
        raise OrderPayloadError(str(exc)) from exc


def quantize_money(value: Money) -> Money:
    return Money(quantize(value.amount, value.currency), value.currency)


def points_for_order(base: Money, program: Program, multiplier: Decimal = Decimal(1)) -> EarnDecision:
    """Points for ``base`` at the program rate and tier ``multiplier``, floored."""
    if base.currency != program.currency:
        raise ValueError(f"order base is {base.currency}, program is {program.currency}")
    if isinstance(multiplier, float):
        raise TypeError("multiplier must be a Decimal")
    earn = program.earn
    exact = Fraction(max(base.amount, Decimal(0))) * earn.points * Fraction(multiplier) / Fraction(earn.per_amount)
    return EarnDecision(math.floor(exact), base, earn.per_amount, earn.points, Decimal(multiplier))


def earn_block_reason(facts: OrderFacts, topic: str, program: Program) -> str | None:
    """Why this order earns nothing on ``topic`` (None = award it).

    A cancelled order earns nothing even if the cancellation webhook came first
    and found no earn entry to claw back.
    """
    if topic != program.earn.on:
        return "not_earn_trigger"
    if facts.cancelled_at is not None:
        return "cancelled"
    if facts.customer_id is None and facts.email is None:
        return "no_customer"
    if facts.merchandise.amount <= 0:
        return "nothing_to_earn"
    return None


def available_at(earned_at: datetime, program: Program) -> datetime:
    """When pending points from an order become spendable (refund window over)."""
    return earned_at + timedelta(days=program.earn.pending_days)
