"""Writing events to the outbox inside the caller's transaction, and enqueueing their
deliveries once that transaction commits.

``emit`` is called by the services that change points, tiers, redemptions and referrals,
with their own session: the event exists exactly when the change does. A shop with no
enabled endpoint for the topic writes nothing (one indexed SELECT per transaction, cached on
the session). The delivery ids are kept on the session and handed to the queue after
COMMIT (a rollback drops them); a lost enqueue is picked up by ``tick``'s sweeper.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import event, select

from plugin.logs import get_logger
from plugin.models import Customer, OutboundDelivery, OutboundEndpoint, OutboundEvent
from plugin.outbound.rules.events import (
    POINTS_CHANGED,
    REFERRAL_COMPLETED,
    REWARD_REDEEMED,
    TIER_CHANGED,
    customer_ref,
)

log = get_logger("outbound")
DELIVER_JOB = "plugin.outbound.delivery.deliver_job"
_ENDPOINTS = "embajador.outbound_endpoints"
_QUEUED = "embajador.outbound_queued"


def delivery_job_id(delivery_id: int, attempts: int) -> str:
    return f"outbound-{delivery_id}-{attempts}"


def _subscribed(session, shop_id: int) -> list[tuple[int, list]]:
    cache = session.info.setdefault(_ENDPOINTS, {})
    if shop_id not in cache:
        cache[shop_id] = session.execute(select(OutboundEndpoint.id, OutboundEndpoint.topics).where(
            OutboundEndpoint.shop_id == shop_id, OutboundEndpoint.enabled.is_(True))).all()
    return cache[shop_id]


def forget_endpoints(session) -> None:
    """Endpoints changed in this session: the next ``emit`` reads them again."""
    session.info.pop(_ENDPOINTS, None)


def emit(session, shop_id: int, topic: str, data: dict, occurred_at: datetime,
         customer_id: int | None = None) -> int | None:
    """Record ``topic`` for every enabled endpoint of the shop that subscribes to it;
    returns the event id, or None when nobody listens."""
    endpoint_ids = [endpoint_id for endpoint_id, topics in _subscribed(session, shop_id) if topic in topics]
    if not endpoint_ids:
        return None
    row = OutboundEvent(shop_id=shop_id, topic=topic, customer_id=customer_id, payload=data, created_at=occurred_at)
    session.add(row)
    session.flush()
    deliveries = [OutboundDelivery(shop_id=shop_id, event_id=row.id, endpoint_id=endpoint_id,
                                   next_attempt_at=occurred_at) for endpoint_id in endpoint_ids]
    session.add_all(deliveries)
    session.flush()
    session.info.setdefault(_QUEUED, []).extend(d.id for d in deliveries)
    return row.id


def _customer(customer: Customer) -> dict:
    return customer_ref(customer.shopify_id, customer.email)


def emit_points_changed(session, customer: Customer, entry_id: int, kind: str, available: int, pending: int,
                        reason: str, occurred_at: datetime) -> int | None:
    """A ledger entry was posted (the customer's cached balance already includes it)."""
    if not _subscribed(session, customer.shop_id):
        return None
    return emit(session, customer.shop_id, POINTS_CHANGED, {
        "customer": _customer(customer),
        "entry": {"id": str(entry_id), "kind": kind, "available": available, "pending": pending, "reason": reason},
        "balance": {"available": customer.points_available, "pending": customer.points_pending},
    }, occurred_at, customer.id)


def emit_tier_changed(session, customer: Customer, previous: str | None, current: str | None, direction: str,
                      occurred_at: datetime) -> int | None:
    if not _subscribed(session, customer.shop_id):
        return None
    return emit(session, customer.shop_id, TIER_CHANGED, {
        "customer": _customer(customer), "previous_tier": previous, "tier": current, "direction": direction,
    }, occurred_at, customer.id)


def emit_reward_redeemed(session, customer: Customer, redemption_id: int, reward_id: str, reward_name: str,
                         cost: int, code: str, expires_at: datetime | None, occurred_at: datetime) -> int | None:
    if not _subscribed(session, customer.shop_id):
        return None
    return emit(session, customer.shop_id, REWARD_REDEEMED, {
        "customer": _customer(customer),
        "redemption": {"id": str(redemption_id), "reward_id": reward_id, "reward_name": reward_name,
                       "points_spent": cost, "code": code,
                       "expires_at": expires_at.isoformat() if expires_at else None},
        "balance": {"available": customer.points_available, "pending": customer.points_pending},
    }, occurred_at, customer.id)


def emit_referral_completed(session, advocate: Customer, referral_id: int, friend_order_id: str, points: int,
                            occurred_at: datetime) -> int | None:
    if not _subscribed(session, advocate.shop_id):
        return None
    return emit(session, advocate.shop_id, REFERRAL_COMPLETED, {
        "advocate": _customer(advocate),
        "referral": {"id": str(referral_id), "friend_order_id": friend_order_id, "advocate_points": points},
    }, occurred_at, advocate.id)


def enqueue_deliveries_after_commit(app_state) -> None:
    """Install the commit hook on the app's sessions (called once by ``create_app``)."""

    def after_commit(session):
        session.info.pop(_ENDPOINTS, None)
        if session.in_nested_transaction():
            return
        for delivery_id in session.info.pop(_QUEUED, []):
            try:
                app_state.queue.enqueue(DELIVER_JOB, delivery_id, job_id=delivery_job_id(delivery_id, 0))
            except Exception:  # noqa: BLE001 - committed already; the tick's sweeper re-enqueues
                log.exception("outbound delivery enqueue failed", extra={"delivery_id": delivery_id})

    def after_rollback(session):
        session.info.pop(_QUEUED, None)
        session.info.pop(_ENDPOINTS, None)

    event.listen(app_state.db.sessionmaker, "after_commit", after_commit)
    event.listen(app_state.db.sessionmaker, "after_rollback", after_rollback)
