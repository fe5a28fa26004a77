"""VIP tiers: which tier a customer's activity earns, and when it changes.

Tiers are listed lowest first; a customer holds the highest tier whose own
threshold they meet (tiers may use different metrics: Plata by spend, Oro by
referrals). Upgrades happen at once. Downgrades are deliberately slow, because
losing a tier is the moment a shopper notices most:

- ``lifetime``: never downgraded (a refund does not take a lifetime tier away).
- ``calendar_year``: a tier reached this year is kept until the year ends, and
  reaching it in the year that just ended keeps it through the current one.
  Boundaries are midnight on 1 January in the timezone of ``now`` (pass the
  shop's local time).
- ``rolling_12_months``: the last 365 days (fixed length, so an order counts for
  exactly 365 days in any year); the tier goes when old activity slides out.

Either way the downgrade waits ``grace_days`` after the moment the customer
stopped qualifying, computed from the activity itself, so a missed tick or a
replay gives the same answer.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from plugin.loyalty.rules.money import Money, quantize
from plugin.loyalty.rules.program import METRICS, Program, Tier

ROLLING = timedelta(days=365)
_TICK = timedelta(microseconds=1)

Window = tuple[datetime | None, datetime | None]


@dataclass(frozen=True)
class Activity:
    """One thing that moves tier metrics; refunds are negative ``spend``."""

    at: datetime
    spend: Money | None = None
    points: int = 0
    orders: int = 0
    referrals: int = 0


@dataclass(frozen=True)
class TierDecision:
    new_tier: str | None
    changed: bool
    direction: str | None  # "up" | "down" | None
    reason: str


@dataclass(frozen=True)
class NextTier:
    name: str
    metric: str
    remaining: Decimal


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now


def period_window(tier_period: str, now: datetime) -> Window:
    """[start, end) of the period containing ``now``; None means unbounded."""
    _aware(now)
    if tier_period == "lifetime":
        return (None, None)
    if tier_period == "calendar_year":
        return (datetime(now.year, 1, 1, tzinfo=now.tzinfo), datetime(now.year + 1, 1, 1, tzinfo=now.tzinfo))
    if tier_period == "rolling_12_months":
        return (now.astimezone(UTC) - ROLLING, None)
    raise ValueError(f"unknown tier_period {tier_period!r}")


def previous_calendar_year(now: datetime) -> Window:
    start, _ = period_window("calendar_year", now)
    return (datetime(now.year - 1, 1, 1, tzinfo=now.tzinfo), start)


def _inside(at: datetime, window: Window) -> bool:
    start, end = window
    return (start is None or at >= start) and (end is None or at < end)


def metrics(activity: Iterable[Activity], window: Window, until: datetime | None = None) -> dict[str, Decimal]:
    """Sum of each metric over activity inside ``window`` (and not after ``until``), never below 0."""
    totals = {name: Decimal(0) for name in METRICS}
    for item in activity:
        if not _inside(item.at, window) or (until is not None and item.at > until):
            continue
        if item.spend is not None:
            totals["spend"] += item.spend.amount
        totals["points"] += item.points
        totals["orders"] += item.orders
        totals["referrals"] += item.referrals
    return {name: max(value, Decimal(0)) for name, value in totals.items()}


def _rank(program: Program, tier_name: str | None) -> int:
    return next((i for i, t in enumerate(program.tiers) if t.name == tier_name), -1)


def _qualifying_rank(program: Program, values: dict[str, Decimal]) -> int:
    ranks = [i for i, t in enumerate(program.tiers) if values[t.threshold.metric] >= t.threshold.value]
    return max(ranks, default=-1)


def qualifying_tier(program: Program, values: dict[str, Decimal]) -> Tier | None:
    """The highest tier whose threshold ``values`` meet (None if not even the first)."""
    rank = _qualifying_rank(program, values)
    return program.tiers[rank] if rank >= 0 else None


def multiplier_for(program: Program, tier_name: str | None) -> Decimal:
    """Earn multiplier of the tier; 1 without a tier or for a tier since removed."""
    tier = program.tier(tier_name)
    return tier.multiplier if tier else Decimal(1)


def _name(program: Program, rank: int) -> str | None:
    return program.tiers[rank].name if rank >= 0 else None


def _rank_at(program: Program, activity: Sequence[Activity], t: datetime) -> int:
    return _qualifying_rank(program, metrics(activity, period_window(program.tier_period, t), until=t))


def _rolling_below_since(program: Program, activity: Sequence[Activity], now: datetime, since: datetime, rank: int) -> datetime:
    """The instant the rolling metrics last dropped below ``rank`` (after ``since``)."""
    points = {since}
    for item in activity:
        points.update({item.at, item.at.astimezone(UTC) + ROLLING + _TICK})
    candidates = sorted((p for p in points if since <= p <= now), reverse=True)
    below_since = since
    for point in candidates:
        if _rank_at(program, activity, point) >= rank:
            break
        below_since = point
    return below_since


def order_can_change_tier(program: Program, current_tier_name: str | None) -> bool:
    """Whether a new order's activity can move this customer's tier now.

    An order only adds spend, points and an order: it can move a customer up, never down.
    Nothing is above the top tier, so there the order changes nothing; downgrades come from
    time (a window sliding, a year ending) and the scheduled re-evaluation applies them.
    A tier the program no longer has (or none yet) must always be evaluated."""
    if not program.tiers:
        return False
    rank = _rank(program, current_tier_name)
    return rank < 0 or rank < len(program.tiers) - 1


def evaluate_tier(
    program: Program,
    activity: Sequence[Activity],
    now: datetime,
    current_tier_name: str | None,
    current_since: datetime | None,
    grace_days: int | None = None,
) -> TierDecision:
    """Decide the customer's tier at ``now`` from their activity and current tier."""
    _aware(now)
    activity = tuple(activity)
    grace = timedelta(days=program.tier_grace_days if grace_days is None else grace_days)
    current = _rank(program, current_tier_name)
    if current_tier_name is not None and current < 0:
        target = _rank_at(program, activity, now)
        return TierDecision(_name(program, target), True, None, "tier_removed")
    target = _rank_at(program, activity, now)
    if target > current:
        return TierDecision(_name(program, target), True, "up", "qualified")
    if target == current:
        return TierDecision(current_tier_name, False, None, "qualified")

    since = current_since or now
    if program.tier_period == "lifetime":
        return TierDecision(current_tier_name, False, None, "lifetime")
    if program.tier_period == "calendar_year":
        year_start, _ = period_window("calendar_year", now)
        assert year_start is not None  # a calendar year always has a start
        if since >= year_start:
            return TierDecision(current_tier_name, False, None, "kept_until_year_end")
        last_year = _qualifying_rank(program, metrics(activity, previous_calendar_year(now)))
        target = max(target, last_year)
        if target >= current:
            return TierDecision(current_tier_name, False, None, "qualified_last_year")
        below_since: datetime = year_start
        reason = "year_ended"
    else:
        below_since = _rolling_below_since(program, activity, now, since, current)
        reason = "window_slid"
    if now < below_since + grace:
        return TierDecision(current_tier_name, False, None, "grace")
    return TierDecision(_name(program, target), True, "down", reason)


def progress_to_next(program: Program, values: dict[str, Decimal], current_tier_name: str | None = None) -> NextTier | None:
    """The next tier above the one held (or qualified for) and what is still missing."""
    rank = max(_qualifying_rank(program, values), _rank(program, current_tier_name))
    if rank + 1 >= len(program.tiers):
        return None
    tier = program.tiers[rank + 1]
    metric = tier.threshold.metric
    remaining = max(tier.threshold.value - values[metric], Decimal(0))
    if metric == "spend":
        remaining = quantize(remaining, program.currency)
    return NextTier(tier.name, metric, remaining)
