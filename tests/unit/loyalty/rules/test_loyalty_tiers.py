from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loyalty_support import utc

from plugin.loyalty.rules.money import money
from plugin.loyalty.rules.program import default_program
from plugin.loyalty.rules.tiers import (
    Activity,
    evaluate_tier,
    metrics,
    multiplier_for,
    order_can_change_tier,
    period_window,
    progress_to_next,
    qualifying_tier,
)

SANTIAGO = ZoneInfo("America/Santiago")
CLP = default_program("CLP", "es")  # Bronce spend 0, Plata spend 200000, Oro 3 referrals


def program(period, grace=0):
    return replace(CLP, tier_period=period, tier_grace_days=grace)


def order(at, amount):
    return Activity(at=at, spend=money(amount, "CLP"), points=int(amount) // 1000, orders=1)


def refund(at, amount):
    return Activity(at=at, spend=money(-amount, "CLP"), points=-(amount // 1000))


def referral(at):
    return Activity(at=at, referrals=1)


# ---------------------------------------------------------------- windows

def test_lifetime_window_is_unbounded():
    assert period_window("lifetime", utc(2026, 6, 1)) == (None, None)


def test_calendar_year_window_uses_the_shop_timezone():
    now = datetime(2026, 1, 1, 0, 30, tzinfo=SANTIAGO)
    start, end = period_window("calendar_year", now)
    assert start == datetime(2026, 1, 1, tzinfo=SANTIAGO)
    assert end == datetime(2027, 1, 1, tzinfo=SANTIAGO)
    late_order = order(utc(2026, 1, 1, 2, 0), 250000)  # 23:00 on 31 Dec 2025 in Santiago
    assert metrics([late_order], (start, end))["spend"] == 0


def test_rolling_window_is_the_last_365_days():
    start, end = period_window("rolling_12_months", utc(2026, 3, 1, 12))
    assert start == utc(2025, 3, 1, 12) and end is None


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        period_window("calendar_year", datetime(2026, 1, 1))


def test_unknown_period_is_refused():
    with pytest.raises(ValueError):
        period_window("monthly", utc(2026, 1, 1))


def test_metrics_net_refunds_and_never_go_negative():
    acts = [order(utc(2026, 2, 1), 150000), refund(utc(2026, 2, 5), 50000), refund(utc(2026, 2, 6), 500000)]
    values = metrics(acts[:2], (None, None))
    assert values == {"spend": Decimal(100000), "points": Decimal(100), "orders": Decimal(1), "referrals": Decimal(0)}
    assert metrics(acts, (None, None))["spend"] == 0


def test_qualifying_tier_mixes_metrics():
    assert qualifying_tier(CLP, {"spend": Decimal(0), "points": 0, "orders": 0, "referrals": 0}).name == "Bronce"
    assert qualifying_tier(CLP, {"spend": Decimal(200000), "points": 0, "orders": 0, "referrals": 0}).name == "Plata"
    assert qualifying_tier(CLP, {"spend": Decimal(0), "points": 0, "orders": 0, "referrals": 3}).name == "Oro"
    no_floor = replace(CLP, tiers=CLP.tiers[1:])
    assert qualifying_tier(no_floor, {"spend": Decimal(5), "points": 0, "orders": 0, "referrals": 0}) is None


def test_multiplier_for_tiers():
    assert multiplier_for(CLP, "Oro") == Decimal("1.5")
    assert multiplier_for(CLP, None) == 1
    assert multiplier_for(CLP, "Diamante") == 1  # tier removed from the program


# ---------------------------------------------------------------- upgrades

@pytest.mark.parametrize("period", ["lifetime", "calendar_year", "rolling_12_months"])
def test_upgrade_is_immediate(period):
    acts = [order(utc(2026, 5, 1), 120000), order(utc(2026, 5, 20), 90000)]
    decision = evaluate_tier(program(period), acts, utc(2026, 5, 20, 0, 1), "Bronce", utc(2026, 1, 1))
    assert (decision.new_tier, decision.changed, decision.direction) == ("Plata", True, "up")


def test_third_referral_makes_an_ambassador():
    acts = [referral(utc(2026, 1, d)) for d in (3, 9, 27)]
    decision = evaluate_tier(CLP, acts, utc(2026, 1, 28), "Bronce", utc(2025, 6, 1))
    assert decision.new_tier == "Oro" and decision.direction == "up"


def test_new_customer_gets_the_entry_tier():
    decision = evaluate_tier(CLP, [], utc(2026, 1, 1), None, None)
    assert (decision.new_tier, decision.changed, decision.direction) == ("Bronce", True, "up")


def test_no_change_when_still_qualifying():
    decision = evaluate_tier(CLP, [order(utc(2026, 1, 1), 300000)], utc(2026, 2, 1), "Plata", utc(2026, 1, 1))
    assert (decision.new_tier, decision.changed) == ("Plata", False)


# ---------------------------------------------------------------- downgrades

def test_lifetime_tiers_are_never_taken_away():
    acts = [order(utc(2020, 1, 1), 250000), refund(utc(2020, 2, 1), 250000)]
    decision = evaluate_tier(program("lifetime"), acts, utc(2026, 1, 1), "Plata", utc(2020, 1, 1))
    assert (decision.new_tier, decision.changed) == ("Plata", False)


def test_calendar_year_tier_is_kept_through_the_year_it_was_reached():
    acts = [order(utc(2026, 3, 1), 250000), refund(utc(2026, 3, 10), 100000)]
    decision = evaluate_tier(program("calendar_year"), acts, utc(2026, 12, 31, 12), "Plata", utc(2026, 3, 1))
    assert (decision.new_tier, decision.changed, decision.reason) == ("Plata", False, "kept_until_year_end")


def test_calendar_year_tier_reached_last_year_is_kept_this_year():
    acts = [order(utc(2025, 11, 1), 250000)]
    decision = evaluate_tier(program("calendar_year"), acts, utc(2026, 12, 31, 12), "Plata", utc(2025, 11, 1))
    assert (decision.new_tier, decision.changed, decision.reason) == ("Plata", False, "qualified_last_year")


def test_calendar_year_downgrade_after_a_year_without_qualifying():
    acts = [order(utc(2024, 11, 1), 250000), order(utc(2025, 4, 1), 20000)]
    decision = evaluate_tier(program("calendar_year"), acts, utc(2026, 1, 1, 6), "Plata", utc(2024, 11, 1))
    assert (decision.new_tier, decision.changed, decision.direction, decision.reason) == ("Bronce", True, "down", "year_ended")


def test_calendar_year_downgrade_waits_for_grace_after_new_year():
    acts = [order(utc(2024, 11, 1), 250000)]
    p = program("calendar_year", grace=30)
    kept = evaluate_tier(p, acts, utc(2026, 1, 30, 23), "Plata", utc(2024, 11, 1))
    assert (kept.new_tier, kept.reason) == ("Plata", "grace")
    gone = evaluate_tier(p, acts, utc(2026, 1, 31, 0), "Plata", utc(2024, 11, 1))
    assert (gone.new_tier, gone.direction) == ("Bronce", "down")


def test_calendar_year_rollover_happens_at_local_midnight():
    acts = [order(datetime(2024, 11, 1, tzinfo=SANTIAGO), 250000)]
    p = program("calendar_year")
    before = evaluate_tier(p, acts, datetime(2025, 12, 31, 23, 59, tzinfo=SANTIAGO), "Plata", acts[0].at)
    after = evaluate_tier(p, acts, datetime(2026, 1, 1, 0, 0, tzinfo=SANTIAGO), "Plata", acts[0].at)
    assert before.new_tier == "Plata" and after.new_tier == "Bronce"


def test_rolling_tier_goes_when_the_big_order_slides_out():
    big = order(utc(2025, 3, 1, 12), 250000)
    p = program("rolling_12_months")
    assert evaluate_tier(p, [big], utc(2026, 3, 1, 12), "Plata", big.at).new_tier == "Plata"
    decision = evaluate_tier(p, [big], utc(2026, 3, 1, 12, 0, 1), "Plata", big.at)
    assert (decision.new_tier, decision.direction, decision.reason) == ("Bronce", "down", "window_slid")


def test_rolling_downgrade_waits_grace_days_from_when_it_slid():
    big = order(utc(2025, 3, 1), 250000)
    p = program("rolling_12_months", grace=14)
    slid = utc(2026, 3, 1) + timedelta(microseconds=1)
    assert evaluate_tier(p, [big], slid + timedelta(days=13), "Plata", big.at).reason == "grace"
    assert evaluate_tier(p, [big], slid + timedelta(days=14), "Plata", big.at).new_tier == "Bronce"
    # a tick that runs months late gives the same answer, no extra grace
    assert evaluate_tier(p, [big], utc(2026, 9, 1), "Plata", big.at).new_tier == "Bronce"


def test_rolling_grace_counts_from_the_last_drop_not_the_first():
    """Requalified in between: the grace restarts from the most recent drop."""
    p = program("rolling_12_months", grace=30)
    acts = [order(utc(2025, 1, 10), 250000), order(utc(2026, 1, 20), 250000)]
    # first order slides out 2026-01-10 but the second keeps Plata until 2027-01-20
    assert evaluate_tier(p, acts, utc(2027, 1, 25), "Plata", utc(2025, 1, 10)).reason == "grace"
    assert evaluate_tier(p, acts, utc(2027, 2, 20), "Plata", utc(2025, 1, 10)).new_tier == "Bronce"


def test_oro_by_referrals_drops_to_plata_if_spend_still_qualifies():
    acts = [referral(utc(2025, 1, d)) for d in (1, 2, 3)] + [order(utc(2025, 12, 1), 300000)]
    decision = evaluate_tier(program("rolling_12_months"), acts, utc(2026, 2, 1), "Oro", utc(2025, 1, 3))
    assert (decision.new_tier, decision.direction) == ("Plata", "down")


def test_removed_tier_is_replaced():
    decision = evaluate_tier(CLP, [], utc(2026, 1, 1), "Diamante", utc(2025, 1, 1))
    assert (decision.new_tier, decision.changed, decision.reason) == ("Bronce", True, "tier_removed")


@given(
    st.lists(st.tuples(st.integers(0, 900), st.integers(1, 300000)), max_size=8),
    st.integers(0, 1000),
    st.sampled_from(["lifetime", "calendar_year", "rolling_12_months"]),
    st.integers(0, 60),
)
def test_never_drops_below_what_the_current_window_earns(orders, day, period, grace):
    """Whatever the history, a customer is never put below the tier their current activity qualifies for."""
    start = utc(2025, 1, 1)
    acts = [order(start + timedelta(days=d), amount) for d, amount in orders]
    now = start + timedelta(days=day)
    p = program(period, grace)
    decision = evaluate_tier(p, acts, now, "Plata", start)
    live = qualifying_tier(p, metrics([a for a in acts if a.at <= now], period_window(period, now)))
    ranks = [t.name for t in p.tiers]
    assert ranks.index(decision.new_tier) >= ranks.index(live.name)
    if decision.direction == "down":
        assert now >= start + timedelta(days=grace)


# ---------------------------------------------------------------- progress

def test_progress_shows_what_is_missing_for_the_next_tier():
    values = metrics([order(utc(2026, 1, 1), 150000)], (None, None))
    nxt = progress_to_next(CLP, values)
    assert (nxt.name, nxt.metric, nxt.remaining) == ("Plata", "spend", Decimal(50000))


def test_progress_from_plata_is_counted_in_referrals():
    values = metrics([order(utc(2026, 1, 1), 250000), referral(utc(2026, 1, 2))], (None, None))
    nxt = progress_to_next(CLP, values)
    assert (nxt.name, nxt.metric, nxt.remaining) == ("Oro", "referrals", Decimal(2))


def test_no_next_tier_at_the_top():
    values = metrics([referral(utc(2026, 1, d)) for d in (1, 2, 3)], (None, None))
    assert progress_to_next(CLP, values) is None
    assert progress_to_next(CLP, metrics([], (None, None)), current_tier_name="Oro") is None


def test_progress_spend_is_rounded_to_the_currency():
    usd = default_program("USD")
    values = metrics([Activity(utc(2026, 1, 1), money("12.345", "USD"))], (None, None))
    assert progress_to_next(usd, values).remaining == Decimal("187.66")


def test_an_order_cannot_lift_a_customer_already_at_the_top_tier():
    top = CLP.tiers[-1].name
    assert [order_can_change_tier(CLP, t.name) for t in CLP.tiers] == [True, True, False]
    assert order_can_change_tier(CLP, None) and order_can_change_tier(CLP, "Platino")  # new, or a removed tier
    assert not order_can_change_tier(replace(CLP, tiers=()), None)
    # what the awarding path skips: at the top, a big order still decides "no change"
    now = utc(2026, 6, 1)
    decision = evaluate_tier(CLP, [referral(now)] * 3 + [order(now, 10_000_000)], now, top, now)
    assert not decision.changed
