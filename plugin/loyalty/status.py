"""A customer's loyalty status as shoppers see it (widget, every email): balance, tier, progress.

Tier metrics are derived from the ledger: an ``earn`` is one order with its base amount as
spend; a ``clawback`` stores the refunded amount as a negative spend; a ``referral`` is one
successful referral. Points in the period are the positive points earned by any means.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.orm import Session

from plugin.loyalty.rules.money import Money
from plugin.loyalty.rules.program import Program, Reward, default_program, dump_program, load_program
from plugin.loyalty.rules.rewards import affordable
from plugin.loyalty.rules.tiers import Activity, NextTier, Window, period_window, progress_to_next
from plugin.models import Customer, LedgerEntry, Shop

EARNING_KINDS = ("earn", "action", "referral", "tier_bonus")
_ACTIVITY_KINDS = ("clawback", *EARNING_KINDS)


def shop_program(shop: Shop) -> Program:
    """The shop's program document, or the default one in the shop's currency."""
    if not shop.program:
        return _default(shop.currency, shop.primary_locale)
    return _loaded(json.dumps(shop.program, sort_keys=True, default=str))


@lru_cache(maxsize=64)
def _default(currency: str, locale: str | None) -> Program:
    """The default program is a pure function of currency and locale, and Program is immutable."""
    return default_program(currency, locale)


def ensure_program(shop: Shop) -> None:
    """A new shop starts with the default program in its own currency and language."""
    if not shop.program:
        shop.program = dump_program(default_program(shop.currency, shop.primary_locale))


@lru_cache(maxsize=256)
def _loaded(document: str) -> Program:
    """Validating a program costs milliseconds (JSON Schema); every order needs it, and
    Program is immutable, so each distinct document is validated once per process."""
    return load_program(json.loads(document, parse_float=Decimal))


@dataclass(frozen=True)
class CustomerStatus:
    available: int
    pending: int
    tier_name: str | None
    next_tier: NextTier | None
    metrics: dict[str, Decimal]
    rewards: tuple[Reward, ...]          # the whole catalogue, cheapest first
    affordable: tuple[Reward, ...]

    @property
    def progress_percent(self) -> int | None:
        """How far into the next tier's threshold the customer is (for progress bars)."""
        if self.next_tier is None:
            return None
        remaining = Decimal(self.next_tier.remaining)
        if isinstance(self.next_tier.remaining, Money):
            remaining = self.next_tier.remaining.amount
        done = self.metrics.get(self.next_tier.metric, Decimal(0))
        total = done + remaining
        return int(done * 100 / total) if total > 0 else 100


def customer_activity(session: Session, customer: Customer, currency: str,
                      since: datetime | None = None) -> list[Activity]:
    """The entries that move tier metrics (from ``since`` on, when given), oldest first.

    Only the columns and kinds that matter are read, as plain rows: no ORM objects."""
    query = (select(LedgerEntry.kind, LedgerEntry.key, LedgerEntry.ref, LedgerEntry.available, LedgerEntry.pending,
                    LedgerEntry.base_amount, LedgerEntry.occurred_at)
             .where(LedgerEntry.customer_id == customer.id, LedgerEntry.kind.in_(_ACTIVITY_KINDS)))
    if since is not None:
        query = query.where(LedgerEntry.occurred_at >= since)
    rows = session.execute(query.order_by(LedgerEntry.id))
    activity = []
    for row in rows:
        points = row.available + row.pending
        if row.kind == "earn":
            spend = Money(row.base_amount, currency) if row.base_amount is not None else None
            activity.append(Activity(at=row.occurred_at, spend=spend, points=max(points, 0), orders=1, referrals=0))
        elif row.kind == "clawback":
            # A cancelled order no longer counts as an order; a cancelled referral no longer as a referral.
            spend = Money(-row.base_amount, currency) if row.base_amount is not None else None
            activity.append(Activity(at=row.occurred_at, spend=spend, points=points,
                                     orders=-1 if row.key.startswith("order:") and row.key.endswith(":cancel") else 0,
                                     referrals=-1 if (row.ref or "").startswith("referral:") else 0))
        elif row.kind in EARNING_KINDS:
            activity.append(Activity(at=row.occurred_at, spend=None, points=max(points, 0), orders=0,
                                     referrals=1 if row.kind == "referral" else 0))
    return activity


def customer_metrics(session: Session, customer: Customer, window: Window) -> dict[str, Decimal]:
    """``metrics(customer_activity(...), window)`` computed by the database in one aggregate.

    Same definitions, row for row, as ``customer_activity`` + the pure ``metrics`` rule (an
    earn is one order and its base amount; a clawback subtracts its amount, an order for a
    ``order:…:cancel`` key, a referral for a ``referral:…`` ref; points earned never count
    below zero, clawed-back points do); every total floored at 0 as ``metrics`` does.
    tests/integration/loyalty/test_customer_metrics.py holds the two to the same answers. The
    widget asks on every page view, and a loyal shopper's ledger has thousands of rows: turning
    each into ``Activity``/``Money`` objects cost ~35 ms of CPU per 1,000 rows (bench/RESULTS.md)."""
    start, end = window
    query = metrics_query(start is not None, end is not None)
    params = {"shop_id": customer.shop_id, "customer_id": customer.id, "start": start, "end": end}
    return metrics_totals(*session.execute(query, params).one())


def metrics_totals(spend, points_total, orders, referrals) -> dict[str, Decimal]:
    """The four sums of ``metrics_query`` as ``metrics`` returns them (never below 0)."""
    # str(): SQLite (the demo) may hand back a float sum; Decimal(float) would carry its binary error.
    totals = {"spend": Decimal(str(spend)), "points": Decimal(points_total), "orders": Decimal(orders),
              "referrals": Decimal(referrals)}
    return {name: max(value, Decimal(0)) for name, value in totals.items()}


@lru_cache(maxsize=8)
def metrics_query(bounded_below: bool, bounded_above: bool, by_shopify_id: bool = False):
    """The aggregate behind ``customer_metrics``, one row of (spend, points, orders, referrals).

    Built once per window shape (the widget asks on every page view). Bound parameters:
    ``shop_id``, ``start``/``end`` as the shape needs, and ``customer_id`` — or, with
    ``by_shopify_id``, ``shopify_id``, so the storefront can read it beside the customer row
    in one statement (plugin/storefront/reads.py)."""
    entry = LedgerEntry
    customer_id: Any
    if by_shopify_id:
        customer_id = (select(Customer.id).where(Customer.shop_id == bindparam("shop_id"),
                                                 Customer.shopify_id == bindparam("shopify_id"))
                       .scalar_subquery())
    else:
        customer_id = bindparam("customer_id")
    points = entry.available + entry.pending
    is_cancel = and_(entry.kind == "clawback", entry.key.startswith("order:", autoescape=True),
                     entry.key.endswith(":cancel", autoescape=True))
    is_referral_clawback = and_(entry.kind == "clawback", entry.ref.startswith("referral:", autoescape=True))
    query = select(
        func.coalesce(func.sum(case((entry.kind == "earn", entry.base_amount),
                                    (entry.kind == "clawback", -entry.base_amount))), 0).label("spend"),
        func.coalesce(func.sum(case((entry.kind == "clawback", points), (points > 0, points), else_=0)),
                      0).label("points"),
        func.coalesce(func.sum(case((entry.kind == "earn", 1), (is_cancel, -1), else_=0)), 0).label("orders"),
        func.coalesce(func.sum(case((entry.kind == "referral", 1), (is_referral_clawback, -1), else_=0)),
                      0).label("referrals"),
    ).where(entry.shop_id == bindparam("shop_id"), entry.customer_id == customer_id,
            entry.kind.in_(_ACTIVITY_KINDS))
    if bounded_below:
        query = query.where(entry.occurred_at >= bindparam("start", type_=entry.occurred_at.type))
    if bounded_above:
        query = query.where(entry.occurred_at < bindparam("end", type_=entry.occurred_at.type))
    return query


def customer_status(session: Session, shop: Shop, customer: Customer, now: datetime,
                    program: Program | None = None, values: dict[str, Decimal] | None = None) -> CustomerStatus:
    """``values``: the customer's metrics for the program's period, when already read."""
    program = program or shop_program(shop)
    if values is None:
        values = customer_metrics(session, customer, period_window(program.tier_period, now))
    rewards = tuple(sorted(program.rewards, key=lambda r: r.cost))
    return CustomerStatus(available=customer.points_available, pending=customer.points_pending,
                          tier_name=customer.tier_name, next_tier=progress_to_next(program, values, customer.tier_name),
                          metrics=values, rewards=rewards, affordable=affordable(program.rewards, customer.points_available))
