"""Points for things shoppers do (signup, birthday, marketing consent) and merchants' adjustments."""
from __future__ import annotations

import calendar
import uuid
from datetime import datetime

from sqlalchemy import and_, extract, or_, select

from plugin.loyalty.balances import lock_customer, record_event
from plugin.loyalty.posting import post
from plugin.loyalty.rules.ledger import Entry, action_key, adjust_key
from plugin.loyalty.status import shop_program
from plugin.loyalty.tier_sync import reevaluate_tier, shop_local
from plugin.models import Customer, Shop


def _award_action(session, shop: Shop, customer: Customer, action: str, period: str, now: datetime,
                  source: str) -> int:
    program = shop_program(shop)
    points = getattr(program.actions, action)
    if points <= 0 or customer.redacted_at is not None:
        return 0
    customer = lock_customer(session, customer.id)
    new_id = post(session, program, customer, Entry(action_key(action, customer.id, period), "action", available=points),
                  reason=f"{action.replace('_', ' ')} points", source=source, occurred_at=now)
    if new_id is None:
        return 0
    reevaluate_tier(session, shop, customer, now, program, source=source)
    return points


def award_signup_points(session, shop: Shop, customer: Customer, now: datetime, source: str) -> dict:
    """customers/create: once per customer; a ``welcome`` event for the email."""
    points = _award_action(session, shop, customer, "signup", "once", now, source)
    record_event(session, shop.id, customer.id, "welcome", f"customer:{customer.id}:welcome", now,
                 {"signup_points": points})
    if customer.marketing_state == "SUBSCRIBED":
        points += award_marketing_consent_points(session, shop, customer, now, source)
    return {"signup_points": points}


def award_marketing_consent_points(session, shop: Shop, customer: Customer, now: datetime, source: str) -> int:
    """Once per customer, when they subscribe to email marketing."""
    if customer.marketing_state != "SUBSCRIBED":
        return 0
    return _award_action(session, shop, customer, "marketing_consent", "once", now, source)


def award_birthday_points(session, shop: Shop, customer: Customer, now: datetime, year: int | None = None) -> int:
    """Once a year (the shop's local year) on the birthday; a ``birthday`` event for the email."""
    if customer.redacted_at is not None:
        return 0
    year = year or shop_local(shop, now).year
    points = _award_action(session, shop, customer, "birthday", str(year), now, "schedule")
    record_event(session, shop.id, customer.id, "birthday", f"customer:{customer.id}:birthday:{year}", now,
                 {"birthday_points": points})
    return points


def birthdays_job(app_state, now: datetime) -> dict:
    """Tick task: customers whose birthday is today in their shop's timezone (idempotent by year).

    29 February birthdays are celebrated on 28 February in common years.
    """
    due = []
    with app_state.db.transaction() as session:
        for shop in session.execute(select(Shop).where(Shop.installed.is_(True))).scalars():
            today = shop_local(shop, now).date()
            days = [(today.month, today.day)]
            if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
                days.append((2, 29))
            born_today = or_(*(and_(extract("month", Customer.birthday) == m, extract("day", Customer.birthday) == d)
                               for m, d in days))
            ids = session.execute(select(Customer.id).where(
                Customer.shop_id == shop.id, Customer.birthday.is_not(None), Customer.redacted_at.is_(None),
                born_today)).scalars().all()
            due += [(shop.id, customer_id, today.year) for customer_id in ids]
    awarded = 0
    for shop_id, customer_id, year in due:
        with app_state.db.transaction() as session:
            awarded += bool(award_birthday_points(session, session.get(Shop, shop_id),
                                                  session.get(Customer, customer_id), now, year))
    return {"birthdays": awarded}


class AdjustmentError(ValueError):
    """A manual adjustment the merchant must correct (no reason, zero points)."""


def adjust_points(session, shop: Shop, customer: Customer, points: int, reason: str, actor: str,
                  now: datetime, adjustment_id: str | None = None) -> int:
    """A merchant's manual correction (CLI / admin); the reason is required and kept."""
    if not reason or not reason.strip():
        raise AdjustmentError("reason: a reason is required for a manual adjustment")
    if points == 0:
        raise AdjustmentError("points: must not be 0")
    program = shop_program(shop)
    customer = lock_customer(session, customer.id)
    new_id = post(session, program, customer, Entry(adjust_key(adjustment_id or uuid.uuid4().hex), "adjust",
                                                    available=points),
                  reason=reason.strip(), source=actor, occurred_at=now)
    reevaluate_tier(session, shop, customer, now, program, source=actor)
    return new_id
