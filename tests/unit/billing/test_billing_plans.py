"""The plan catalogue and the monthly allowance (pure), and BILLING_* at start."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from plugin import create_app
from plugin.billing.rules.plans import DEFAULT_PLANS, BadPlans, parse_plans, plan_named, usage
from plugin.config import ConfigError, load_config


def test_default_plans_are_a_free_plan_and_a_paid_plan_with_a_trial():
    free, growth = parse_plans(DEFAULT_PLANS)
    assert free.free and free.orders_per_month == 100 and free.trial_days == 0
    assert growth.price == Decimal("29.00") and growth.trial_days == 14 and growth.orders_per_month == 3000
    assert plan_named((free, growth), "Embajador Growth") is growth
    assert plan_named((free, growth), "Embajador Free") is None  # a subscription is never the free plan


@pytest.mark.parametrize("doc, field", [
    ([], "plans"),
    ([{"id": "a", "name": "A", "price": "5"}], "free"),
    ([{"id": "a", "name": "A"}, {"id": "a", "name": "B", "price": "3"}], "unique"),
    ([{"id": "a", "name": "A"}, {"id": "b", "name": "B", "price": "x"}], "plans[1].price"),
    ([{"id": "a", "name": "A"}, {"id": "b", "name": "B", "price": "3", "interval": "WEEKLY"}], "plans[1].interval"),
    ([{"id": "a", "name": "A", "trial_days": 400}], "plans[0].trial_days"),
    ([{"id": "a", "name": "A", "orders_per_month": -1}], "plans[0].orders_per_month"),
    ([{"id": "no spaces", "name": "A"}], "plans[0].id"),
])
def test_bad_plan_lists_name_the_field(doc, field):
    with pytest.raises(BadPlans, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_plans(doc)


def test_past_the_allowance_is_over_and_unlimited_never_is():
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    free, _ = parse_plans(DEFAULT_PLANS)
    assert usage(free, 100, now).over is False
    assert usage(free, 101, now).over is True
    assert usage(free, 101, now).month_start == datetime(2026, 11, 1, tzinfo=UTC)
    (unlimited,) = parse_plans([{"id": "all", "name": "All", "orders_per_month": None}])
    assert usage(unlimited, 10**9, now).over is False


def test_billing_is_off_unless_switched_on_and_test_charges_outside_production():
    assert load_config({"EMBAJADOR_MODE": "demo"}).billing is False
    on = load_config({"EMBAJADOR_MODE": "test", "BILLING": "on"})
    assert on.billing is True and on.billing_test is True
    with pytest.raises(ConfigError, match="^BILLING: must be on or off"):
        load_config({"EMBAJADOR_MODE": "test", "BILLING": "maybe"})


def test_a_bad_plans_file_stops_the_start_with_one_line(tmp_path):
    path = tmp_path / "plans.json"
    path.write_text(json.dumps([{"id": "pro", "name": "Pro", "price": "9"}]))
    with pytest.raises(ConfigError, match="^BILLING_PLANS: plans: exactly one plan must be free"):
        create_app({"EMBAJADOR_MODE": "test", "BILLING_PLANS": str(path)})
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="^BILLING_PLANS: .* is not valid JSON"):
        create_app({"EMBAJADOR_MODE": "test", "BILLING_PLANS": str(path)})
