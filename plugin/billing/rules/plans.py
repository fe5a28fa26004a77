"""Plans differ only by price, trial and a monthly orders allowance: every feature is on every
plan, and a shop past its allowance keeps working (the admin tells the merchant).

Shopify's recurring charges are ``EVERY_30_DAYS`` or ``ANNUAL`` in USD by default
(AppRecurringPricingInput: https://shopify.dev/docs/api/admin-graphql/latest/input-objects/AppRecurringPricingInput).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

INTERVALS = ("EVERY_30_DAYS", "ANNUAL")
MAX_TRIAL_DAYS = 90


class BadPlans(ValueError):
    """The plan catalogue is wrong; ``str()`` names the plan and field."""


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    price: Decimal
    currency: str
    interval: str
    trial_days: int
    orders_per_month: int | None  # None: no allowance

    @property
    def free(self) -> bool:
        return self.price == 0


DEFAULT_PLANS: list[dict[str, Any]] = [
    {"id": "free", "name": "Embajador Free", "price": "0", "orders_per_month": 100},
    {"id": "growth", "name": "Embajador Growth", "price": "29.00", "currency": "USD", "interval": "EVERY_30_DAYS",
     "trial_days": 14, "orders_per_month": 3000},
]


def parse_plans(doc: object) -> tuple[Plan, ...]:
    """A list of plans; exactly one free plan (the default), unique ids and names."""
    if not isinstance(doc, list) or not doc:
        raise BadPlans("plans: a non-empty JSON list")
    plans = tuple(_plan(i, item) for i, item in enumerate(doc))
    if len({p.id for p in plans}) != len(plans) or len({p.name for p in plans}) != len(plans):
        raise BadPlans("plans: ids and names must be unique")
    if sum(1 for p in plans if p.free) != 1:
        raise BadPlans("plans: exactly one plan must be free (price 0)")
    return plans


def _plan(index: int, item: object) -> Plan:
    where = f"plans[{index}]"
    if not isinstance(item, dict):
        raise BadPlans(f"{where}: an object")
    plan_id, name = item.get("id"), item.get("name")
    if not isinstance(plan_id, str) or not plan_id.isidentifier():
        raise BadPlans(f"{where}.id: a short identifier like growth")
    if not isinstance(name, str) or not 0 < len(name) <= 255:
        raise BadPlans(f"{where}.name: the name the merchant sees")
    try:
        price = Decimal(str(item.get("price", "0")))
    except InvalidOperation:
        raise BadPlans(f"{where}.price: a decimal string like 29.00") from None
    if not price.is_finite() or price < 0:
        raise BadPlans(f"{where}.price: zero or more")
    currency = item.get("currency", "USD")
    interval = item.get("interval", "EVERY_30_DAYS")
    trial = item.get("trial_days", 0)
    allowance = item.get("orders_per_month")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise BadPlans(f"{where}.currency: an ISO 4217 code like USD")
    if interval not in INTERVALS:
        raise BadPlans(f"{where}.interval: one of {', '.join(INTERVALS)}")
    if isinstance(trial, bool) or not isinstance(trial, int) or not 0 <= trial <= MAX_TRIAL_DAYS:
        raise BadPlans(f"{where}.trial_days: 0 to {MAX_TRIAL_DAYS}")
    if allowance is not None and (isinstance(allowance, bool) or not isinstance(allowance, int) or allowance < 0):
        raise BadPlans(f"{where}.orders_per_month: a whole number, or null for no allowance")
    return Plan(plan_id, name, price, currency.upper(), interval, trial, allowance)


def free_plan(plans: tuple[Plan, ...]) -> Plan:
    return next(p for p in plans if p.free)


def find_plan(plans: tuple[Plan, ...], plan_id: str | None) -> Plan | None:
    return next((p for p in plans if p.id == plan_id), None)


def plan_named(plans: tuple[Plan, ...], name: str | None) -> Plan | None:
    """The paid plan a Shopify subscription is for (subscriptions carry the plan's name)."""
    return next((p for p in plans if p.name == name and not p.free), None)


@dataclass(frozen=True)
class Usage:
    orders: int
    allowance: int | None
    over: bool
    month_start: datetime


def month_start(now: datetime) -> datetime:
    """The first instant of ``now``'s calendar month (UTC): allowances count per month."""
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def usage(plan: Plan, orders_this_month: int, now: datetime) -> Usage:
    over = plan.orders_per_month is not None and orders_this_month > plan.orders_per_month
    return Usage(orders_this_month, plan.orders_per_month, over, month_start(now))


# Subscription statuses (AppSubscriptionStatus:
# https://shopify.dev/docs/api/admin-graphql/latest/enums/AppSubscriptionStatus).
ACTIVE, PENDING = "ACTIVE", "PENDING"
ENDED = ("CANCELLED", "DECLINED", "EXPIRED", "FROZEN")
