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
    previous_calendar_year,
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
    (tiers.py) returns over the same activity, without reading all of it again at every step.

    Entries are plain tuples ``(utc, local year, spend, points, orders, referrals)``; spend is a
    Decimal and the counts ints (an int compares with a Decimal threshold exactly)."""

    __slots__ = ("rolling", "calendar", "items", "spend", "points", "orders", "referrals", "year")

    def __init__(self, period: str) -> None:
        self.rolling, self.calendar = period == "rolling_12_months", period == "calendar_year"
        self.items: deque[tuple[datetime, int | None, Decimal | None, int, int, int]] = deque()
        self.spend = Decimal(0)
        self.points = self.orders = self.referrals = 0
        self.year: int | None = None  # calendar_year: the year the sums are of (None: recount)

    def _count(self, spend: Decimal | None, points: int, orders: int, referrals: int, sign: int) -> None:
        if spend is not None:
            self.spend += spend if sign > 0 else -spend
        self.points += sign * points
        self.orders += sign * orders
        self.referrals += sign * referrals

    def add(self, utc: datetime, year: int | None, spend: Decimal | None, points: int, orders: int,
            referrals: int) -> None:
        """``year``: the instant's year in the shop's zone (calendar_year only)."""
        if self.rolling or self.calendar:  # lifetime sums never lose an entry: nothing to keep
            self.items.append((utc, year, spend, points, orders, referrals))
        if not self.calendar or self.year == year:
            self._count(spend, points, orders, referrals, 1)
        else:
            self.year = None

    def same_as_before(self, utc: datetime, year: int | None) -> bool:
        """Nothing left the period since the last ``values`` (no entry slid out, same year)."""
        if self.rolling:
            return not (self.items and self.items[0][0] < utc - ROLLING)
        return not self.calendar or self.year == year

    def values(self, utc: datetime, year: int | None) -> tuple[Decimal, int, int, int]:
        """(spend, points, orders, referrals) of the period containing the instant, never below 0."""
        items = self.items
        if self.rolling:
            start = utc - ROLLING
            while items and items[0][0] < start:
                _, _, spend, points, orders, referrals = items.popleft()
                self._count(spend, points, orders, referrals, -1)
        elif self.calendar and self.year != year:
            self.year = year
            while items and items[0][1] < year:  # type: ignore[operator]  # calendar entries carry their year
                items.popleft()
            self.spend = Decimal(0)
            self.points = self.orders = self.referrals = 0
            for _, _, spend, points, orders, referrals in items:
                self._count(spend, points, orders, referrals, 1)
        spend, points, orders, referrals = self.spend, self.points, self.orders, self.referrals
        return (spend if spend > 0 else _ZERO, points if points > 0 else 0, orders if orders > 0 else 0,
                referrals if referrals > 0 else 0)


_ZERO = Decimal(0)
_METRIC_INDEX = {"spend": 0, "points": 1, "orders": 2, "referrals": 3}


class _Tiering:
    """The customer's tier as the engine keeps it, over the activity ``evaluate_tier`` may read
    (the same window ``tier_sync._activity_since`` reads: older entries cannot matter).

    ``evaluate_tier`` answers "no change" whenever the tier the period's metrics qualify for is
    the one held; the running window tells that first (``qualifying_tier``'s rule over the
    precomputed thresholds), so the full call is made only when something may change. Activity
    is kept as tuples and becomes ``Activity`` only for that call."""

    __slots__ = ("program", "zone", "plan", "tier", "since", "activity", "window", "bonused", "steady")

    def __init__(self, program: Program, zone: tzinfo, plan: Pricer) -> None:
        self.program, self.zone, self.plan = program, zone, plan
        self.tier: str | None = None
        self.since: datetime | None = None
        self.activity: deque[tuple[datetime, Money | None, int, int, int]] = deque()
        self.window = _Window(program.tier_period)
        self.bonused: set[str] = set()
        self.steady = False  # the last check found the tier held is the one qualified for

    def add(self, at: datetime, utc: datetime, year: int | None, spend: Money | None, points: int,
            orders: int, referrals: int) -> None:
        self.steady = False
        self.window.add(utc, year, None if spend is None else spend.amount, points, orders, referrals)
        if self.plan.lifetime and self.activity:
            # Lifetime metrics are plain sums over every entry: one running entry is the same input.
            _, last_spend, last_points, last_orders, last_referrals = self.activity.pop()
            if spend is None:
                spend = last_spend
            elif last_spend is not None:
                spend = last_spend + spend
            points, orders, referrals = last_points + points, last_orders + orders, last_referrals + referrals
        self.activity.append((at, spend, points, orders, referrals))

    def _prune(self, local_now: datetime) -> None:
        if self.program.tier_period == "calendar_year":
            oldest = previous_calendar_year(local_now)[0]
        elif self.program.tier_period == "rolling_12_months":
            oldest = min(self.since or local_now, local_now) - ROLLING
        else:
            return
        while oldest is not None and self.activity and self.activity[0][0] < oldest:
            self.activity.popleft()

    def evaluate(self, at: datetime, utc: datetime, year: int | None, local: datetime | None) -> int:
        """Apply the tier decision at ``at`` (``utc``, ``year`` and ``local``: the same instant in
        UTC, its year and the instant in the shop's zone; ``local`` None: worked out if needed);
        returns entry points paid for a tier reached."""
        plan = self.plan
        if not plan.thresholds or (self.steady and self.window.same_as_before(utc, year)):
            return 0
        values = self.window.values(utc, year)
        rank = -1
        for i, (metric, threshold) in enumerate(plan.thresholds):
            if values[metric] >= threshold:
                rank = i
        self.steady = plan.names[rank] == self.tier
        if self.steady:
            return 0
        if local is None:
            local = at.astimezone(self.zone)
        self._prune(local)
        activity = [Activity(at=a, spend=s, points=p, orders=o, referrals=r) for a, s, p, o, r in self.activity]
        decision = evaluate_tier(self.program, activity, local, self.tier, self.since)
        if not decision.changed:
            return 0
        previous, self.tier, self.since = self.tier, decision.new_tier, at
        tier = self.program.tier(decision.new_tier)
        upward = decision.direction == "up" or (previous is None and tier is not None)
        if not upward or tier is None or tier.entry_points <= 0 or tier.name in self.bonused:
            return 0
        self.bonused.add(tier.name)
        self.add(at, utc, year, None, tier.entry_points, 0, 0)
        return tier.entry_points


class Pricer:
    """``points_for_order`` and ``clawed_total`` for one program, remembered per distinct input:
    pure functions, and a shop's orders repeat the same amounts and multipliers endlessly.
    Also what the replay reads of the program at every step, worked out once."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self._known: dict[tuple[Decimal, Decimal, Decimal], tuple[int, int, Money]] = {}
        self.thresholds = tuple((_METRIC_INDEX[t.threshold.metric], t.threshold.value) for t in program.tiers)
        self.names: tuple[str | None, ...] = (*(t.name for t in program.tiers), None)  # names[-1]: no tier
        self.multipliers = {t.name: t.multiplier for t in reversed(program.tiers)}  # as Program.tier: the first
        self.lifetime = program.tier_period == "lifetime"
        self.calendar = program.tier_period == "calendar_year"
        self.on_create = program.earn.on == "orders/create"

    def multiplier(self, tier_name: str | None) -> Decimal:
        """``multiplier_for`` (tiers.py): 1 without a tier."""
        return self.multipliers.get(tier_name, _ONE) if tier_name is not None else _ONE

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


_ONE = Decimal(1)


_MONTHS: dict[int, str] = {}


def _month(at: datetime) -> str:
    """``YYYY-MM`` of the instant as given (UTC as in analytics), one string per month."""
    key = at.year * 12 + at.month
    month = _MONTHS.get(key)
    if month is None:
        month = _MONTHS[key] = f"{at.year:04d}-{at.month:02d}"
    return month


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
    more at ``now``. Pass one ``pricer`` per program when replaying many customers.

    The hot loop of the what-if (twice per order): each instant is converted once (UTC; the
    shop's zone only for calendar years, else only when ``evaluate_tier`` is called)."""
    plan = pricer or Pricer(program)
    outcome = CustomerOutcome()
    issued = outcome.issued
    paid: dict[str, list[datetime]] = {}
    tiering = _Tiering(program, zone, plan)
    evaluate, add = tiering.evaluate, tiering.add
    calendar, on_create = plan.calendar, plan.on_create
    local: datetime | None = None
    year: int | None = None

    for record in records:
        at = record.at
        utc = at if at.tzinfo is UTC else at.astimezone(UTC)
        if calendar:
            local = at.astimezone(zone)
            year = local.year
        month = None
        points = evaluate(at, utc, year, local)  # what the tick would have done by now
        if points:
            month = _month(at)
            issued[month] = issued.get(month, 0) + points
        if isinstance(record, OrderRecord):
            if not (record.paid or on_create) or record.base <= 0:
                continue
            earned, points, spend = plan.earned(record.base, record.refunded, plan.multiplier(tiering.tier))
            add(at, utc, year, spend, points, 1, 0)
            if earned > 0:
                outcome.last_activity = at  # an earn restarts the expiry clock
        else:
            points = event_points(record, program, paid)
            referrals = 1 if record.kind == "referral" else 0
            if points <= 0 and not referrals:
                continue
            add(at, utc, year, None, max(points, 0), 0, referrals)
        if points:
            month = month or _month(at)
            issued[month] = issued.get(month, 0) + points
        points = evaluate(at, utc, year, local)  # an upgrade happens at once
        if points:
            month = month or _month(at)
            issued[month] = issued.get(month, 0) + points
    local = now.astimezone(zone)
    points = evaluate(now, now.astimezone(UTC), local.year, local)
    if points:
        month = _month(now)
        issued[month] = issued.get(month, 0) + points
    outcome.tier = tiering.tier
    return outcome
