"""Our note of each order seen: its name, tax mode and cancellation, keyed by shop + order id."""
from __future__ import annotations

from sqlalchemy import select

from plugin.db import insert_ignoring_conflicts
from plugin.models import LoyaltyOrder


def remember_order(session, shop_id: int, facts, customer_id: int | None) -> LoyaltyOrder:
    insert_ignoring_conflicts(session, LoyaltyOrder, dict(
        shop_id=shop_id, order_id=facts.order_id, customer_id=customer_id, name=(facts.name or "")[:64] or None,
        taxes_included=facts.taxes_included, cancelled_at=facts.cancelled_at), ["shop_id", "order_id"])
    order = find_order(session, shop_id, facts.order_id)
    if order.customer_id is None and customer_id is not None:
        order.customer_id = customer_id
    return order


def find_order(session, shop_id: int, order_id: str) -> LoyaltyOrder | None:
    return session.execute(select(LoyaltyOrder).where(LoyaltyOrder.shop_id == shop_id,
                                                      LoyaltyOrder.order_id == order_id)).scalar_one_or_none()
