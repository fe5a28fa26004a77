"""The what-if replay against the most literal use of the live rules: evaluate_tier before and
after every record over the whole history, points_for_order and clawed_total for every order.
The replay's shortcuts (pruned windows, skipped evaluations that cannot change anything,
remembered prices) must give exactly the same months, tiers and last earn, for every period."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from plugin.loyalty.rules.clawback import clawed_total
from plugin.loyalty.rules.earning import points_for_order
from plugin.loyalty.rules.money import Money
from plugin.loyalty.rules.program import load_program
from plugin.loyalty.rules.tiers import Activity, evaluate_tier, multiplier_for
from plugin.whatif.rules.comparison import Comparison, redemption_rate
from plugin.whatif.rules.simulation import (
    CustomerOutcome,
    EventRecord,
    OrderRecord,
    _Earned,
    earns_on,
    event_points,
    simulate_customer,
)

START = datetime(2024, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 30, tzinfo=UTC)
ZONE = ZoneInfo("America/Santiago")


def program(period: str, grace: int = 0):
    return load_program({
        "currency": "USD", "earn": {"points": 3, "per_amount": "2", "on": "orders/paid"},
        "actions": {"signup": 15, "birthday": 40,
                    "custom": [{"id": "review", "points": 20, "limit": 3, "cooldown": "P7D"}]},
        "tiers": [{"name": "Bronze", "threshold": {"metric": "spend", "value": "0"}},
                  {"name": "Silver", "threshold": {"metric": "spend", "value": "150"}, "multiplier": 1.5,
                   "entry_points": 25},
                  {"name": "Gold", "threshold": {"metric": "orders", "value": 6}, "multiplier": 2,
                   "entry_points": 60},
                  {"name": "Star", "threshold": {"metric": "referrals", "value": 2}, "multiplier": 3}],
        "tier_period": period, "tier_grace_days": grace,
        "referral": {"friend": {"type": "percentage", "value": "10"}, "advocate_points": 70},
        "expiry": {"inactive_days": 200},
    })


def literal(prog, records, now, zone) -> CustomerOutcome:
    """Every rule call, nothing skipped."""
    outcome, activity, tier, since, bonused, paid = CustomerOutcome(), [], None, None, set(), {}

    def evaluate(at):
        nonlocal tier, since
        decision = evaluate_tier(prog, activity, at.astimezone(zone), tier, since)
        if not decision.changed:
            return 0
        previous, tier, since = tier, decision.new_tier, at
        reached = prog.tier(tier)
        if (decision.direction == "up" or previous is None) and reached and reached.entry_points \
                and reached.name not in bonused:
            bonused.add(reached.name)
            activity.append(Activity(at=at, points=reached.entry_points))
            return reached.entry_points
        return 0

    def issue(at, points):
        if points:
            key = f"{at.year:04d}-{at.month:02d}"
            outcome.issued[key] = outcome.issued.get(key, 0) + points

    for record in records:
        issue(record.at, evaluate(record.at))
        if isinstance(record, OrderRecord):
            if not earns_on(record, prog) or record.base <= 0:
                continue
            base = Money(record.base, "USD")
            points = points_for_order(base, prog, multiplier_for(prog, tier)).points
            kept = points - clawed_total(_Earned(points, base), Money(record.refunded, "USD"))
            net = record.base - min(record.refunded, record.base)
            activity.append(Activity(at=record.at, spend=Money(net, "USD"), points=kept, orders=1))
            issue(record.at, kept)
            if points > 0:
                outcome.last_activity = record.at
        else:
            points = event_points(record, prog, paid)
            if points <= 0 and record.kind != "referral":
                continue
            activity.append(Activity(at=record.at, points=max(points, 0), referrals=int(record.kind == "referral")))
            issue(record.at, points)
        issue(record.at, evaluate(record.at))
    issue(now, evaluate(now))
    outcome.tier = tier
    return outcome


orders = st.builds(
    lambda hours, base, refunded_share, paid: OrderRecord(
        at=START + timedelta(hours=hours), base=Decimal(base) / 4,
        refunded=(Decimal(base) / 4 * refunded_share / 4).quantize(Decimal("0.01")), paid=paid),
    st.integers(0, 1000 * 24), st.integers(0, 1200), st.integers(0, 4), st.booleans())
events = st.builds(lambda hours, kind: EventRecord(at=START + timedelta(hours=hours), kind=kind, points=11),
                   st.integers(0, 1000 * 24), st.sampled_from(["signup", "birthday", "referral", "other", "review", "instagram_follow"]))
histories = st.lists(st.one_of(orders, orders, orders, events), min_size=1, max_size=25).map(lambda rs: sorted(rs, key=lambda r: r.at))


SLID = [OrderRecord(START + timedelta(days=10), Decimal("200"), Decimal("0"), True),
        OrderRecord(START + timedelta(days=500), Decimal("10"), Decimal("0"), True)]
YEAR_TURNED = [OrderRecord(START + timedelta(days=340), Decimal("200"), Decimal("0"), True),
               OrderRecord(START + timedelta(days=770), Decimal("10"), Decimal("0"), True)]

IN_GRACE = [OrderRecord(START + timedelta(days=10), Decimal("200"), Decimal("0"), True),
            OrderRecord(START + timedelta(days=380), Decimal("10"), Decimal("0"), True),
            OrderRecord(START + timedelta(days=430), Decimal("10"), Decimal("0"), True)]


@settings(max_examples=300, deadline=None)
@given(histories, st.sampled_from(["lifetime", "calendar_year", "rolling_12_months"]), st.sampled_from([0, 45]))
@example(SLID, "rolling_12_months", 0)
@example(YEAR_TURNED, "calendar_year", 0)
@example(IN_GRACE, "rolling_12_months", 45)
def test_the_replay_matches_the_literal_rules(records, period, grace):
    prog = program(period, grace)
    assert simulate_customer(prog, records, NOW, ZONE) == literal(prog, records, NOW, ZONE)


def test_a_hand_worked_customer():
    """$100 then $80 refunded to $40, rolling year, Silver from $150 spend at × 1.5 (+25 once)."""
    prog = program("rolling_12_months")
    records = [EventRecord(START, "signup", 99),
               OrderRecord(START + timedelta(days=10), Decimal("100"), Decimal("0"), True),
               OrderRecord(START + timedelta(days=40), Decimal("80"), Decimal("40"), True),
               OrderRecord(START + timedelta(days=50), Decimal("20"), Decimal("0"), True)]
    outcome = simulate_customer(prog, records, NOW, ZONE)
    # signup 15; 100 → floor(100/2 × 3) = 150; 80 → 120, minus floor(120 × 40/80) = 60 → 60 (spend 140);
    # 20 → 30, spend 160 reaches Silver (+25); the window slid long ago: Bronze by now.
    assert outcome.issued == {"2024-01": 15 + 150, "2024-02": 60 + 30 + 25}
    assert outcome.tier == "Bronze" and outcome.last_activity == START + timedelta(days=50)


def test_custom_actions_are_repriced_under_their_limit_and_cooldown():
    """Reviews on days 0, 3, 10, 20, 30: a 7-day cooldown skips day 3, the limit of 3 day 30;
    an action the program does not have (a follow) pays nothing; unreadable ones keep theirs."""
    prog = program("lifetime")
    records = [EventRecord(START + timedelta(days=d), "review", 99) for d in (0, 3, 10, 20, 30)]
    records += [EventRecord(START + timedelta(days=40), "instagram_follow", 99),
                EventRecord(START + timedelta(days=41), "other", 7)]
    assert simulate_customer(prog, records, NOW, ZONE).issued == {"2024-01": 20 * 3, "2024-02": 7}


def test_the_comparison_applies_the_observed_rate_and_expiry():
    live, draft = program("lifetime"), program("lifetime")
    comparison = Comparison(live, draft, redemption_rate(100, 25), NOW)
    active = CustomerOutcome(issued={"2026-10": 101}, tier="Bronze", last_activity=NOW - timedelta(days=10))
    asleep = CustomerOutcome(issued={"2025-01": 40}, tier="Silver", last_activity=NOW - timedelta(days=400))
    comparison.add("1", active, active)
    comparison.add("2", asleep, asleep)
    report = comparison.result()
    # 101 → floor(101/4) = 25 redeemed; 40 → 10 redeemed and the 30 left expired (200 days).
    assert report["live"]["expected_redeemed"] == 35 and report["live"]["expired"] == 30
    assert report["live"]["outstanding"] == 76 and report["redemption_rate"] == "0.2500"
    assert report["live"]["point_value"] == "0" and report["liability_change"]["amount"] == "0.00"
    assert redemption_rate(0, 5) == Fraction(0) and redemption_rate(10, 50) == Fraction(1)


def test_comparisons_of_ranges_of_customers_merge_into_the_one_comparison():
    """Customers with orders come in range order, those with ledger events only after them by id;
    a comparison per range, merged, lists the same first 100 movers and adds up to the same."""
    live, draft = program("lifetime"), program("rolling_12_months")
    up = CustomerOutcome(issued={"2026-01": 7}, tier="Silver", last_activity=NOW - timedelta(days=300))
    same = CustomerOutcome(issued={"2025-12": 3, "2026-01": -1}, tier="Bronze", last_activity=NOW)
    ranges = [[f"a{i:03d}" for i in range(0, 90)], [f"b{i:03d}" for i in range(0, 30)]]
    without_orders = [[f"z{i:03d}" for i in range(1, 40, 2)], [f"z{i:03d}" for i in range(0, 40, 2)]]
    one = Comparison(live, draft, redemption_rate(10, 3), NOW)
    for part in ranges:
        for i, customer in enumerate(part):
            one.add(customer, same, up if i % 3 else same)
    one.customers_without_orders_begin()
    for customer in sorted(c for part in without_orders for c in part):
        one.add(customer, same, up)
    parts = []
    for with_orders, without in zip(ranges, without_orders, strict=True):
        part = Comparison(live, draft, redemption_rate(10, 3), NOW)
        for i, customer in enumerate(with_orders):
            part.add(customer, same, up if i % 3 else same)
        part.customers_without_orders_begin()
        for customer in without:
            part.add(customer, same, up)
        parts.append(part)
    merged = Comparison.merged(parts).result()
    assert merged == one.result()
    listed = [c["customer"] for c in merged["tier_changes"]["customers"]]
    assert len(listed) == 100 and listed[59:62] == ["a089", "b001", "b002"] and listed[80:82] == ["z000", "z001"]
