"""Our note of each order seen: its name, tax mode and cancellation, keyed by shop + order id."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import make_transient_to_detached

from plugin.db import advisory_xact_lock, insert_ignoring_conflicts
from plugin.models import LoyaltyOrder


def remember_order(session, shop_id: int, facts, customer_id: int | None) -> LoyaltyOrder:
    values = dict(shop_id=shop_id, order_id=facts.order_id, customer_id=customer_id,
                  name=(facts.name or "")[:64] or None, taxes_included=facts.taxes_included,
                  cancelled_at=facts.cancelled_at)
    new_id = insert_ignoring_conflicts(session, LoyaltyOrder, values, ["shop_id", "order_id"])
    if new_id is not None:
        # Just inserted with these values: attach it as the persistent row it is instead of
        # reading it back (one round trip fewer per first delivery of an order). Columns not
        # set here (created_at) load on first access, as an expired attribute does.
        note = LoyaltyOrder(id=new_id, **values)
        make_transient_to_detached(note)
        session.add(note)
        return note
    order = find_order(session, shop_id, facts.order_id)
    if order.customer_id is None and customer_id is not None:
        order.customer_id = customer_id
    return order


def find_order(session, shop_id: int, order_id: str) -> LoyaltyOrder | None:
    return session.execute(select(LoyaltyOrder).where(LoyaltyOrder.shop_id == shop_id,
                                                      LoyaltyOrder.order_id == order_id)).scalar_one_or_none()


def lock_order(session, shop_id: int, order_id: str) -> None:
    """Serialise everything that moves one order's points (earning it, a refund, a cancellation)
    until the transaction ends. Without it a refund and the order's earn on two workers each
    miss the other's uncommitted row (the refund finds no earn yet, the earn finds no refund
    yet) and the refund is never counted. A transaction-scoped advisory lock: the order may
    have no row of ours yet. Taken before any customer row lock, in every path."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite serialises writers anyway
    advisory_xact_lock(session, f"loyalty-order:{shop_id}:{order_id}")
