"""Finding the order that completed a checkout, without touching the order handlers.

The order topics belong to the loyalty code, so we read what Shopify told us: the tick task
``collect_checkout_orders`` runs right after the inbox sweep and before the retention purge,
and copies from every new orders/create and orders/paid delivery the few facts recovery
needs (checkout token, email, customer, discount codes, time, total in shop money) into
``checkout_orders``. A checkout is completed by an order with its ``checkout_token``, or by
the same customer/email after the checkout started, or by an order using its incentive code.
An order processed after this tick's collection is seen on the next tick.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from plugin.customers.profiles import normalize_email, parse_shopify_time
from plugin.db import insert_ignoring_conflicts
from plugin.models import WebhookDelivery
from plugin.models.checkouts import AbandonedCheckout, CheckoutOrder
from plugin.recovery.facts import _decimal, _id

ORDER_TOPICS = ("orders/create", "orders/paid")
BATCH = 1000


@dataclass(frozen=True)
class OrderMatch:
    order_id: str
    placed_at: datetime
    revenue: Decimal | None
    currency: str | None
    codes: tuple[str, ...]
    by: str  # token | code | customer | email


def order_signal(order: dict, received_at: datetime) -> dict:
    """The columns of a ``checkout_orders`` row for one order payload."""
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    total = order.get("total_price_set") if isinstance(order.get("total_price_set"), dict) else {}
    shop_money = total.get("shop_money") if isinstance(total.get("shop_money"), dict) else {}
    revenue, currency = ((_decimal(shop_money.get("amount")), shop_money.get("currency_code")) if shop_money
                         else (_decimal(order.get("total_price")), order.get("currency")))
    codes = [str(d["code"]).upper() for d in order.get("discount_codes") or [] if isinstance(d, dict) and d.get("code")]
    token = order.get("checkout_token")
    return dict(order_id=_id(order.get("id")), checkout_token=str(token)[:255] if token else None,
                email=normalize_email(order.get("email")) or normalize_email(order.get("contact_email"))
                or normalize_email(customer.get("email")),
                customer_shopify_id=_id(customer.get("id")),
                discount_codes="|" + "|".join(codes) + "|" if codes else None,
                placed_at=parse_shopify_time(order.get("created_at")) or received_at,
                revenue=revenue, currency=currency if isinstance(currency, str) else None,
                cancelled=bool(order.get("cancelled_at")))


def collect_checkout_orders(app_state, now: datetime) -> dict:
    """Tick task: one ``checkout_orders`` row per new order delivery (idempotent on delivery id)."""
    with app_state.db.transaction() as session:
        seen = exists().where(CheckoutOrder.delivery_id == WebhookDelivery.id)
        rows = session.execute(select(WebhookDelivery.id, WebhookDelivery.shop_id, WebhookDelivery.payload,
                                      WebhookDelivery.received_at).where(
            WebhookDelivery.topic.in_(ORDER_TOPICS), WebhookDelivery.shop_id.is_not(None),
            WebhookDelivery.payload.is_not(None), ~seen).order_by(WebhookDelivery.id).limit(BATCH)).all()
        for delivery_id, shop_id, payload, received_at in rows:
            try:
                order = json.loads(payload, parse_float=Decimal)
            except ValueError:
                order = None
            values = order_signal(order, received_at) if isinstance(order, dict) else {"order_id": None}
            insert_ignoring_conflicts(session, CheckoutOrder, dict(values, shop_id=shop_id, delivery_id=delivery_id),
                                      ["delivery_id"])
    return {"orders": len(rows)}


def _match(row: CheckoutOrder, checkout: AbandonedCheckout, codes: set[str]) -> OrderMatch | None:
    started = checkout.shopify_created_at or checkout.created_at
    used = tuple(c for c in (row.discount_codes or "").split("|") if c)
    by = None
    if row.checkout_token and row.checkout_token == checkout.token:
        by = "token"
    elif codes & set(used):
        by = "code"
    elif row.placed_at >= started and checkout.customer_shopify_id and row.customer_shopify_id == checkout.customer_shopify_id:
        by = "customer"
    elif row.placed_at >= started and checkout.email and row.email == checkout.email:
        by = "email"
    return OrderMatch(row.order_id, row.placed_at, row.revenue, row.currency, used, by) if by else None


def find_completing_order(session: Session, checkout: AbandonedCheckout, codes: set[str] | None = None) -> OrderMatch | None:
    """The earliest order that completed ``checkout`` (None if the shopper has not bought)."""
    codes = {c.upper() for c in codes or set() if c}
    conditions = [CheckoutOrder.checkout_token == checkout.token]
    if checkout.email:
        conditions.append(CheckoutOrder.email == checkout.email)
    if checkout.customer_shopify_id:
        conditions.append(CheckoutOrder.customer_shopify_id == checkout.customer_shopify_id)
    conditions += [CheckoutOrder.discount_codes.contains(f"|{code}|", autoescape=True) for code in sorted(codes)]
    rows = session.execute(select(CheckoutOrder).where(
        CheckoutOrder.shop_id == checkout.shop_id, CheckoutOrder.order_id.is_not(None),
        CheckoutOrder.cancelled.is_(False), or_(*conditions))).scalars().all()
    matches = [m for m in (_match(row, checkout, codes) for row in rows) if m]
    return min(matches, key=lambda m: (m.placed_at, m.order_id)) if matches else None
