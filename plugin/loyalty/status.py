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

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.loyalty.rules.money import Money
from plugin.loyalty.rules.program import Program, Reward, default_program, dump_program, load_program
from plugin.loyalty.rules.rewards import affordable
from plugin.loyalty.rules.tiers import Activity, NextTier, metrics, period_window, progress_to_next
from plugin.models import Customer, LedgerEntry, Shop

EARNING_KINDS = ("earn", "action", "referral", "tier_bonus")
_ACTIVITY_KINDS = ("clawback", *EARNING_KINDS)


def shop_program(shop: Shop) -> Program:
    """The shop's program document, or the default one in the shop's currency."""
    if not shop.program:
        return default_program(shop.currency, shop.primary_locale)
    return _loaded(json.dumps(shop.program, sort_keys=True, default=str))


def ensure_program(shop: Shop) -> None:
    """A new shop starts with the default program in its own currency and language."""
    if not shop.program:
        shop.program = dump_program(default_program(shop.currency, shop.primary_locale))


def warm_program_loading(_app_state=None) -> None:
    """Build the program's JSON Schema validator (~0.1 s) once, before a worker forks."""
    load_program(dump_program(default_program("USD")))


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


def customer_status(session: Session, shop: Shop, customer: Customer, now: datetime,
                    program: Program | None = None) -> CustomerStatus:
    program = program or shop_program(shop)
    values = metrics(customer_activity(session, customer, shop.currency), period_window(program.tier_period, now))
    rewards = tuple(sorted(program.rewards, key=lambda r: r.cost))
    return CustomerStatus(available=customer.points_available, pending=customer.points_pending,
                          tier_name=customer.tier_name, next_tier=progress_to_next(program, values, customer.tier_name),
                          metrics=values, rewards=rewards, affordable=affordable(program.rewards, customer.points_available))
