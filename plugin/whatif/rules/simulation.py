"""Replaying one customer's history under a program, with the live engine's rules.

Each order earns ``points_for_order`` (earning.py) at the multiplier of the tier held at that
moment; refunds take back ``clawed_total`` (clawback.py) of it; after every step the tier is
``evaluate_tier`` (tiers.py) at that instant in the shop's time, paying ``entry_points`` once per
tier reached, as ``plugin/loyalty/tier_sync.py`` does. Actions and referrals from the ledger are
re-priced with the program's ``actions`` (custom ones under their ``limit`` and ``cooldown``,
custom_actions.py) and ``referral.advocate_points``. Nothing here knows a
database: the caller hands in plain records, oldest first.

What the history cannot tell (documented in the README): a refund is netted at the order's
time, and an order the live program never earned on is valued at its order total (the orders
table keeps no subtotal); both programs see exactly the same history, so the difference between
them is the program's alone.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal

from plugin.loyalty.rules.clawback import clawed_total
from plugin.loyalty.rules.custom_actions import may_award
from plugin.loyalty.rules.earning import points_for_order
from plugin.loyalty.rules.money import Money
from plugin.loyalty.rules.program import Program
from plugin.loyalty.rules.tiers import (
    ROLLING,
    Activity,
    evaluate_tier,
    multiplier_for,
    previous_calendar_year,
    qualifying_tier,
)

PAID_STATUSES = frozenset({"paid", "partially_refunded", "refunded", "partially_paid"})
REPRICED_ACTIONS = ("signup", "birthday", "marketing_consent")
OTHER = "other"  # a ledger action whose key this module cannot read


@dataclass(frozen=True)
class OrderRecord:
    """One order of the history: its earn base and how much of it was refunded (shop money)."""

    at: datetime
    base: Decimal
    refunded: Decimal
    paid: bool


@dataclass(frozen=True)
class EventRecord:
    """A ledger fact that is not an order: an action (``signup``, ``birthday``, …) or a ``referral``.

    ``points`` is what the live ledger paid; kinds this module cannot re-price keep it."""

    at: datetime
    kind: str
    points: int


Record = OrderRecord | EventRecord


@dataclass
class _Earned:
    """What ``clawed_total`` needs from an earn entry."""

    points: int
    base: Money


@dataclass
class CustomerOutcome:
    """Points issued per month (``YYYY-MM``, UTC as in analytics), the final tier, last activity."""

    issued: dict[str, int] = field(default_factory=dict)
    tier: str | None = None
    last_activity: datetime | None = None

    @property
    def total(self) -> int:
        return sum(self.issued.values())


def earns_on(record: OrderRecord, program: Program) -> bool:
    """Whether the program's trigger fires for this order (``orders/create``: any order;
    ``orders/paid`` and ``orders/fulfilled``: paid ones — the history records no fulfilment)."""
    return record.paid or program.earn.on == "orders/create"


class _Window:
    """The tier metrics of the period containing an instant as running sums: what ``metrics``
    (tiers.py) returns over the same activity, without reading all of it again at every step."""

    def __init__(self, period: str, zone: tzinfo) -> None:
        self.period, self.zone = period, zone
        self.items: deque[Activity] = deque()
        self.spend, self.points, self.orders, self.referrals = Decimal(0), Decimal(0), Decimal(0), Decimal(0)
        self.year: int | None = None  # calendar_year: the year the sums are of (None: recount)

    def _count(self, item: Activity, sign: int) -> None:
        if item.spend is not None:
            self.spend += sign * item.spend.amount
        self.points += sign * item.points
        self.orders += sign * item.orders
        self.referrals += sign * item.referrals

    def add(self, item: Activity) -> None:
        self.items.append(item)
        if self.period != "calendar_year" or self.year == item.at.astimezone(self.zone).year:
            self._count(item, 1)
        else:
            self.year = None

    def same_as_before(self, local_now: datetime) -> bool:
        """Nothing left the period since the last ``values`` (no entry slid out, same year)."""
        if self.period == "rolling_12_months":
            return not (self.items and self.items[0].at < local_now.astimezone(UTC) - ROLLING)
        return self.period != "calendar_year" or self.year == local_now.year

    def values(self, local_now: datetime) -> dict[str, Decimal]:
        if self.period == "rolling_12_months":
            start = local_now.astimezone(UTC) - ROLLING
            while self.items and self.items[0].at < start:
                self._count(self.items.popleft(), -1)
        elif self.period == "calendar_year" and self.year != local_now.year:
            self.year = local_now.year
            while self.items and self.items[0].at.astimezone(self.zone).year < self.year:
                self.items.popleft()
            self.spend = self.points = self.orders = self.referrals = Decimal(0)
            for item in self.items:
                self._count(item, 1)
        return {"spend": max(self.spend, Decimal(0)), "points": max(self.points, Decimal(0)),
                "orders": max(self.orders, Decimal(0)), "referrals": max(self.referrals, Decimal(0))}


class _Tiering:
    """The customer's tier as the engine keeps it, over the activity ``evaluate_tier`` may read
    (the same window ``tier_sync._activity_since`` reads: older entries cannot matter).

    ``evaluate_tier`` answers "no change" whenever the tier the period's metrics qualify for is
    the one held; the running window tells that first (``qualifying_tier``), so the full call is
    made only when something may change."""

    def __init__(self, program: Program, zone: tzinfo) -> None:
        self.program, self.zone = program, zone
        self.tier: str | None = None
        self.since: datetime | None = None
        self.activity: deque[Activity] = deque()
        self.window = _Window(program.tier_period, zone)
        self.bonused: set[str] = set()
        self.steady = False  # the last check found the tier held is the one qualified for

    def add(self, item: Activity) -> None:
        self.steady = False
        self.window.add(item)
        if self.program.tier_period == "lifetime" and self.activity:
            # Lifetime metrics are plain sums over every entry: one running entry is the same input.
            last = self.activity.pop()
            spend = item.spend if last.spend is None else (last.spend if item.spend is None else last.spend + item.spend)
            item = Activity(at=item.at, spend=spend, points=last.points + item.points,
                            orders=last.orders + item.orders, referrals=last.referrals + item.referrals)
        self.activity.append(item)

    def _prune(self, local_now: datetime) -> None:
        if self.program.tier_period == "calendar_year":
            oldest = previous_calendar_year(local_now)[0]
        elif self.program.tier_period == "rolling_12_months":
            oldest = min(self.since or local_now, local_now) - ROLLING
        else:
            return
        while oldest is not None and self.activity and self.activity[0].at < oldest:
            self.activity.popleft()

    def evaluate(self, at: datetime, local: datetime) -> int:
        """Apply the tier decision at ``at`` (``local``: the same instant in the shop's zone);
        returns entry points paid for a tier reached."""
        if not self.program.tiers or (self.steady and self.window.same_as_before(local)):
            return 0
        qualified = qualifying_tier(self.program, self.window.values(local))
        self.steady = (qualified.name if qualified else None) == self.tier
        if self.steady:
            return 0
        self._prune(local)
        decision = evaluate_tier(self.program, self.activity, local, self.tier, self.since)
        if not decision.changed:
            return 0
        previous, self.tier, self.since = self.tier, decision.new_tier, at
        tier = self.program.tier(decision.new_tier)
        upward = decision.direction == "up" or (previous is None and tier is not None)
        if not upward or tier is None or tier.entry_points <= 0 or tier.name in self.bonused:
            return 0
        self.bonused.add(tier.name)
        self.add(Activity(at=at, points=tier.entry_points))
        return tier.entry_points


class Pricer:
    """``points_for_order`` and ``clawed_total`` for one program, remembered per distinct input:
    pure functions, and a shop's orders repeat the same amounts and multipliers endlessly."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self._known: dict[tuple[Decimal, Decimal, Decimal], tuple[int, int, Money]] = {}

    def earned(self, base: Decimal, refunded: Decimal, multiplier: Decimal) -> tuple[int, int, Money]:
        """(points earned, points kept after the refunds, the spend kept) for an order at ``multiplier``."""
        key = (base, refunded, multiplier)
        found = self._known.get(key)
        if found is None:
            currency = self.program.currency
            money = Money(base, currency)
            points = points_for_order(money, self.program, multiplier).points
            kept = points - clawed_total(_Earned(points, money), Money(refunded, currency))
            found = self._known[key] = (points, kept, Money(base - min(refunded, base), currency))
        return found


def _month(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


def event_points(record: EventRecord, program: Program, paid: dict[str, list[datetime]] | None = None) -> int:
    """What an action or referral of the history pays under ``program``. A custom action
    (``actions.custom``) pays its points when ``may_award`` allows it given the times this customer
    was already paid for it under the same program (``paid``, updated); one the program does not
    have pays nothing. Kinds this module cannot read keep the points the ledger shows."""
    if record.kind in REPRICED_ACTIONS:
        return int(getattr(program.actions, record.kind))
    if record.kind == "referral":
        return program.referral.advocate_points if program.referral else 0
    if record.kind == OTHER:
        return record.points
    action = program.actions.custom_action(record.kind)
    if action is None:
        return 0
    previous = (paid if paid is not None else {}).setdefault(record.kind, [])
    if not may_award(action, previous, record.at).allowed:
        return 0
    previous.append(record.at)
    return action.points


def simulate_customer(program: Program, records: Iterable[Record], now: datetime, zone: tzinfo,
                      pricer: Pricer | None = None) -> CustomerOutcome:
    """Replay ``records`` (oldest first, UTC-aware) under ``program``; the tier is evaluated once
    more at ``now``. Pass one ``pricer`` per program when replaying many customers."""
    pricer = pricer or Pricer(program)
    outcome = CustomerOutcome()
    paid: dict[str, list[datetime]] = {}
    tiering = _Tiering(program, zone)

    def issue(at: datetime, points: int) -> None:
        if points:
            month = _month(at)
            outcome.issued[month] = outcome.issued.get(month, 0) + points

    for record in records:
        local = record.at.astimezone(zone)
        issue(record.at, tiering.evaluate(record.at, local))  # what the tick would have done by now
        if isinstance(record, OrderRecord):
            if not earns_on(record, program) or record.base <= 0:
                continue
            earned, kept, spend = pricer.earned(record.base, record.refunded, multiplier_for(program, tiering.tier))
            tiering.add(Activity(at=record.at, spend=spend, points=kept, orders=1))
            issue(record.at, kept)
            if earned > 0:
                outcome.last_activity = record.at  # an earn restarts the expiry clock
        else:
            points = event_points(record, program, paid)
            referrals = 1 if record.kind == "referral" else 0
            if points <= 0 and not referrals:
                continue
            tiering.add(Activity(at=record.at, points=max(points, 0), referrals=referrals))
            issue(record.at, points)
        issue(record.at, tiering.evaluate(record.at, local))  # an upgrade happens at once
    issue(now, tiering.evaluate(now, now.astimezone(zone)))
    outcome.tier = tiering.tier
    return outcome
