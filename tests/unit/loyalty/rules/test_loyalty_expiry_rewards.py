from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loyalty_support import utc

from plugin.loyalty.rules.expiry import due_warnings, expiry_at, is_expired, warning_key
from plugin.loyalty.rules.program import Expiry, default_program
from plugin.loyalty.rules.rewards import CODE_ALPHABET, affordable, discount_spec, generate_code

USD = default_program("USD")  # expiry 365 days, warnings 30 and 7 days before
LAST = utc(2025, 3, 1, 15)
EXPIRES = utc(2026, 3, 1, 15)


def test_points_expire_after_inactive_days():
    assert expiry_at(LAST, 365) == EXPIRES
    assert not is_expired(LAST, USD, EXPIRES - timedelta(seconds=1))
    assert is_expired(LAST, USD, EXPIRES)


def test_no_expiry_when_the_program_has_none_or_no_activity():
    assert not is_expired(LAST, replace(USD, expiry=None), utc(2040, 1, 1))
    assert not is_expired(None, USD, utc(2040, 1, 1))
    assert due_warnings(LAST, replace(USD, expiry=None), EXPIRES - timedelta(days=1)) == []


@pytest.mark.parametrize("now, expected", [
    (EXPIRES - timedelta(days=31), None),
    (EXPIRES - timedelta(days=30), (30, "expiry_warning")),
    (EXPIRES - timedelta(days=8), (30, "expiry_warning")),
    (EXPIRES - timedelta(days=7), (7, "expiry_last_chance")),
    (EXPIRES - timedelta(seconds=1), (7, "expiry_last_chance")),
    (EXPIRES, None),
])
def test_warnings_before_expiry(now, expected):
    warnings = due_warnings(LAST, USD, now)
    if expected is None:
        assert warnings == []
    else:
        assert [(w.days_before, w.kind) for w in warnings] == [expected]
        assert warnings[0].expires_at == EXPIRES


def test_a_single_warning_is_the_last_chance():
    program = replace(USD, expiry=Expiry(90, (10,)))
    [warning] = due_warnings(LAST, program, LAST + timedelta(days=85))
    assert (warning.days_before, warning.kind) == (10, "expiry_last_chance")


@given(st.integers(0, 400 * 24))
def test_never_more_than_one_reminder_at_a_time(hours):
    assert len(due_warnings(LAST, USD, LAST + timedelta(hours=hours))) <= 1


def test_warning_keys_restart_with_new_activity():
    assert warning_key(7, LAST, 30) == warning_key(7, LAST, 30)
    assert warning_key(7, LAST, 30) != warning_key(7, LAST + timedelta(days=1), 30)
    assert warning_key(7, LAST, 30) != warning_key(7, LAST, 7)


# ---------------------------------------------------------------- rewards

def test_affordable_rewards_cheapest_first():
    assert [r.id for r in affordable(USD.rewards, 600)] == ["ship", "5off"]
    assert affordable(USD.rewards, 299) == ()
    assert [r.id for r in affordable(USD.rewards, 1000)] == ["ship", "5off", "10pct"]


def test_fixed_amount_discount_in_shop_money():
    now = utc(2026, 3, 1)
    spec = discount_spec(default_program("CLP", "es").reward("5off"), "CLP", now)
    assert (spec.kind, spec.amount, spec.percentage) == ("fixed_amount", Decimal(5000), None)
    assert (spec.starts_at, spec.ends_at) == (now, utc(2026, 3, 31))


def test_percentage_is_a_fraction_for_shopify():
    spec = discount_spec(USD.reward("10pct"), "USD", utc(2026, 3, 1))
    assert spec.percentage == Decimal("0.1")
    assert spec.amount is None
    assert spec.min_subtotal == Decimal("20.00")


def test_free_shipping_and_never_expiring_codes():
    reward = replace(USD.reward("ship"), expires_in_days=0)
    spec = discount_spec(reward, "USD", utc(2026, 3, 1))
    assert (spec.kind, spec.amount, spec.percentage, spec.ends_at) == ("free_shipping", None, None, None)


def test_referral_friend_discount_uses_the_same_spec():
    spec = discount_spec(USD.referral.friend, "USD", utc(2026, 3, 1), expires_in_days=60)
    assert spec.percentage == Decimal("0.1") and spec.ends_at == utc(2026, 4, 30)


def test_codes_are_deterministic_uppercase_and_unambiguous():
    code = generate_code("vip", bytes(range(10)))
    assert code == generate_code("vip", bytes(range(10)))
    assert code.startswith("VIP-") and len(code) == 4 + 16
    assert set(code[4:]) <= set(CODE_ALPHABET)
    assert not set("01OI") & set(CODE_ALPHABET)


def test_prefix_is_cleaned_for_shopify():
    assert generate_code("emb ajador!", bytes(5)).startswith("EMBAJADOR-")
    assert generate_code("", bytes(5)) == "22222222"


def test_too_little_randomness_is_refused():
    with pytest.raises(ValueError):
        generate_code("X", bytes(4))


@given(st.binary(min_size=5, max_size=16), st.binary(min_size=5, max_size=16))
def test_different_randomness_gives_different_codes(a, b):
    if len(a) == len(b) and a != b and len(a) * 8 % 5 == 0:
        assert generate_code("E", a) != generate_code("E", b)
    assert set(generate_code("E", a)[2:]) <= set(CODE_ALPHABET)
