"""Tick task: reminders before points expire, and the expiry itself after inactivity.

Reminder keys include the last activity instant (a purchase starts a new series);
the expire key includes the day, and an expired balance is zero, so re-runs do nothing.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from plugin.loyalty.balances import lock_customer, record_event
from plugin.loyalty.posting import post
from plugin.loyalty.rules.expiry import due_warnings, is_expired, warning_key
from plugin.loyalty.rules.ledger import Balance, expire_entry
from plugin.loyalty.status import shop_program
from plugin.models import Customer, Shop


def _candidates(session, shop_id: int, program, now: datetime) -> list[int]:
    horizon = program.expiry.inactive_days - max(program.expiry.warn_days_before, default=0)
    return session.execute(select(Customer.id).where(
        Customer.shop_id == shop_id, Customer.points_available > 0,
        Customer.last_activity_at <= now - timedelta(days=horizon))).scalars().all()


def expire_or_warn(session, shop: Shop, customer: Customer, program, now: datetime) -> str | None:
    if is_expired(customer.last_activity_at, program, now):
        entry = expire_entry(customer.id, now.date(), Balance(customer.points_available, customer.points_pending))
        if entry and post(session, program, customer, entry, reason=f"no activity for {program.expiry.inactive_days} days",
                          source="schedule", occurred_at=now):
            return "expired"
        return None
    for warning in due_warnings(customer.last_activity_at, program, now):
        if record_event(session, shop.id, customer.id, warning.kind,
                        warning_key(customer.id, customer.last_activity_at, warning.days_before), now,
                        {"expiring_points": customer.points_available,
                         "expires_on": warning.expires_at.date().isoformat()}):
            return warning.kind
    return None


def expire_points(app_state, now: datetime) -> dict:
    """Tick task (idempotent)."""
    counts: dict[str, int] = {}
    with app_state.db.transaction() as session:
        shop_ids = session.execute(select(Shop.id).where(Shop.installed.is_(True))).scalars().all()
    for shop_id in shop_ids:
        with app_state.db.transaction() as session:
            shop = session.get(Shop, shop_id)
            program = shop_program(shop)
            ids = _candidates(session, shop_id, program, now) if program.expiry else []
        for customer_id in ids:
            with app_state.db.transaction() as session:
                shop = session.get(Shop, shop_id)
                done = expire_or_warn(session, shop, lock_customer(session, customer_id), program, now)
            if done:
                counts[done] = counts.get(done, 0) + 1
    return counts
