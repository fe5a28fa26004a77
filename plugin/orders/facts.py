"""Order payloads (REST webhook shape, see ../shared/fixtures/shopify/webhooks/orders__*.json)
turned into the plain values the orders table keeps."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from plugin.customers.profiles import parse_shopify_time


@dataclass(frozen=True)
class OrderFacts:
    order_id: str
    customer_shopify_id: str | None
    placed_at: datetime
    total: Decimal
    current_total: Decimal
    currency: str
    financial_status: str | None
    cancelled: bool
    source_name: str | None
    updated_at: datetime | None


def _shop_money(payload: dict, name: str) -> tuple[Decimal, str] | None:
    """``<name>_set.shop_money`` (the shop's currency), else the plain string field when the
    order was presented in the shop currency."""
    money = (payload.get(f"{name}_set") or {}).get("shop_money") or {}
    raw, currency = money.get("amount"), money.get("currency_code")
    if raw is None:
        raw, currency = payload.get(name), payload.get("currency")
    try:
        amount = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or not isinstance(currency, str) or len(currency) != 3:
        return None
    return amount, currency.upper()


def order_facts(payload: dict) -> OrderFacts | None:
    """The facts of an order payload, or None when it is not a readable order."""
    order_id = payload.get("id")
    placed_at = parse_shopify_time(payload.get("created_at"))
    money = _shop_money(payload, "total_price")
    current = _shop_money(payload, "current_total_price")
    if isinstance(order_id, bool) or not isinstance(order_id, (int, str)) or not str(order_id).isdigit():
        return None
    if placed_at is None or money is None:
        return None
    raw_customer = payload.get("customer")
    customer: dict[str, Any] = raw_customer if isinstance(raw_customer, dict) else {}
    customer_id = customer.get("id")
    return OrderFacts(
        order_id=str(order_id),
        customer_shopify_id=str(customer_id) if isinstance(customer_id, (int, str)) and str(customer_id).isdigit()
        else None,
        placed_at=placed_at, total=money[0], currency=money[1],
        current_total=current[0] if current and current[1] == money[1] else money[0],
        financial_status=str(payload.get("financial_status") or "")[:32] or None,
        cancelled=bool(payload.get("cancelled_at")),
        source_name=str(payload.get("source_name") or "")[:64] or None,
        updated_at=parse_shopify_time(payload.get("updated_at")),
    )
