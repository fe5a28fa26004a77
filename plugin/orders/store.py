"""Recording orders: one row per (shop, order id), converging whatever the delivery order."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.db import insert_ignoring_conflicts
from plugin.models.orders import Order
from plugin.orders.facts import OrderFacts, order_facts
from plugin.rollups.store import order_changed


def record_order(session: Session, shop_id: int, facts: OrderFacts, source: str = "webhook") -> Order:
    """Insert the order or bring it up to date. A delivery older than the stored one
    (``updated_at``) changes nothing, so replays and out-of-order deliveries converge."""
    values = _values(facts)
    inserted = insert_ignoring_conflicts(session, Order, {"shop_id": shop_id, "order_id": facts.order_id,
                                                          "source": source, **values}, ["shop_id", "order_id"])
    order = session.execute(select(Order).where(Order.shop_id == shop_id, Order.order_id == facts.order_id)
                            .with_for_update()).scalar_one()
    if inserted is not None:
        order_changed(session, shop_id, None, _counted(order))
    elif _is_newer(facts.updated_at, order.shopify_updated_at):
        before = _counted(order)
        for name, value in values.items():
            if name == "customer_shopify_id" and value is None:
                continue  # a later payload without a customer does not forget the buyer
            setattr(order, name, value)
        if _counted(order) != before:
            order_changed(session, shop_id, before, _counted(order))
    return order


def _counted(order: Order) -> dict:
    """What the analytics rollups (plugin/rollups/store.py) count of an order."""
    return {"customer_shopify_id": order.customer_shopify_id, "placed_at": order.placed_at,
            "current_total": order.current_total, "cancelled": order.cancelled}


def record_order_payload(session: Session, shop_id: int, payload: dict) -> str | None:
    """For webhook handlers: record the order a payload describes; returns its id or None."""
    facts = order_facts(payload) if isinstance(payload, dict) else None
    if facts is None:
        return None
    record_order(session, shop_id, facts)
    return facts.order_id


def _values(facts: OrderFacts) -> dict:
    return {"customer_shopify_id": facts.customer_shopify_id, "placed_at": facts.placed_at,
            "total": facts.total, "current_total": facts.current_total, "currency": facts.currency,
            "financial_status": facts.financial_status, "cancelled": facts.cancelled,
            "source_name": facts.source_name, "shopify_updated_at": facts.updated_at}


def _is_newer(incoming: datetime | None, stored: datetime | None) -> bool:
    return stored is None or (incoming is not None and incoming >= stored)
