from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loyalty_support import webhook

from plugin.loyalty.rules.clawback import (
    clawback_for_cancellation,
    clawback_for_refund,
    clawed_total,
    refunded_merchandise,
    split_clawback,
)
from plugin.loyalty.rules.earning import EarnDecision, OrderPayloadError, order_facts_from_payload, points_for_order
from plugin.loyalty.rules.money import CurrencyMismatch, Money, money
from plugin.loyalty.rules.program import Earn, Program, default_program


def earned(points, base, currency="USD"):
    return EarnDecision(points, money(base, currency), Decimal(1), 1, Decimal(1))


@pytest.mark.parametrize("name, currency, expected", [
    ("refunds__create.json", "USD", "369.97"),
    ("refunds__create.2026-04.json", "USD", "414.95"),
    ("refunds__create.pos_cad_real.json", "CAD", "143.97"),   # after its 15.99 discount, before 17.28 tax
    ("refunds__create.cancel_cad_real.json", "CAD", "0.00"),  # cancelled before payment: nothing refunded
])
def test_refund_fixtures_give_back_merchandise_in_shop_money(name, currency, expected):
    assert refunded_merchandise(webhook(name), currency) == money(expected, currency)


def test_embedded_refund_of_a_cancelled_order():
    refund = webhook("orders__cancelled.hkd_real.json")["refunds"][0]
    assert refunded_merchandise(refund, "HKD") == money("99.00", "HKD")


def test_tax_included_refund_removes_the_tax():
    assert refunded_merchandise(webhook("refunds__create.pos_cad_real.json"), "CAD", taxes_included=True) == money("126.69", "CAD")


def test_numeric_subtotal_is_the_fallback():
    refund = webhook("refunds__create.pos_cad_real.json")
    del refund["refund_line_items"][0]["subtotal_set"]
    assert refunded_merchandise(refund, "CAD") == money("143.97", "CAD")


def test_gift_card_refunds_are_not_merchandise():
    refund = webhook("refunds__create.json")
    refund["refund_line_items"][0]["line_item"]["gift_card"] = True
    assert refunded_merchandise(refund, "USD") == money("279.98", "USD")  # 369.97 - 89.99


def test_refund_in_another_currency_is_refused():
    with pytest.raises(OrderPayloadError):
        refunded_merchandise(webhook("refunds__create.pos_cad_real.json"), "USD")


def test_pos_refund_claws_back_pro_rata_at_the_earned_rate():
    earn = earned(300, "300.00", "CAD")
    assert clawback_for_refund(earn, Money.zero("CAD"), refunded_merchandise(webhook("refunds__create.pos_cad_real.json"), "CAD")) == 143


def test_clawback_uses_the_rate_the_points_were_earned_at_not_todays():
    """Earned at 1.5x as Oro; the program later halves the rate. The refund takes back what was given."""
    base = money("200.00", "USD")
    then = points_for_order(base, Program("USD", Earn(1, Decimal(1))), Decimal("1.5"))
    assert then.points == 300
    assert clawback_for_refund(then, Money.zero("USD"), money("100.00", "USD")) == 150
    assert clawback_for_refund(then, money("100.00", "USD"), money("100.00", "USD")) == 150


def test_full_refund_of_the_usd_fixture_returns_every_point():
    facts = order_facts_from_payload({**webhook("orders__paid.json"), "cancelled_at": None}, "USD")
    earn = points_for_order(facts.merchandise, default_program("USD"))
    refund = refunded_merchandise(webhook("refunds__create.json"), "USD")  # 369.97 > base 359.97
    assert clawback_for_refund(earn, Money.zero("USD"), refund) == earn.points == 359


def test_cancellation_takes_the_rest_and_a_later_refund_takes_nothing():
    earn = earned(99, "99.00", "HKD")
    first = clawback_for_refund(earn, Money.zero("HKD"), money("33.00", "HKD"))
    assert first == 33
    rest = clawback_for_cancellation(earn, already_clawed=first)
    assert rest == 66
    refund = refunded_merchandise(webhook("orders__cancelled.hkd_real.json")["refunds"][0], "HKD")
    assert clawback_for_refund(earn, money("33.00", "HKD"), refund, already_clawed=first + rest) == 0


def test_nothing_to_claw_when_nothing_was_earned():
    assert clawback_for_refund(earned(0, "5.00"), Money.zero("USD"), money("5.00", "USD")) == 0
    assert clawback_for_refund(earned(10, "0.00"), Money.zero("USD"), money("5.00", "USD")) == 0
    assert clawback_for_cancellation(earned(10, "5.00"), 10) == 0


def test_refund_currency_must_match_the_earn():
    with pytest.raises(CurrencyMismatch):
        clawed_total(earned(10, "10.00"), money("1", "CAD"))


@st.composite
def earn_and_refund_partition(draw):
    cents = draw(st.integers(1, 10**7))
    points = draw(st.integers(0, 10**5))
    parts = draw(st.lists(st.integers(0, cents), min_size=1, max_size=8))
    return points, cents, parts


@given(earn_and_refund_partition())
def test_clawbacks_never_exceed_earned_for_any_partition(data):
    points, cents, parts = data
    earn = earned(points, Decimal(cents) / 100)
    refunded = Money.zero("USD")
    total = 0
    for part in parts:
        now = money(Decimal(part) / 100, "USD")
        step = clawback_for_refund(earn, refunded, now)
        assert step >= 0
        total += step
        refunded += now
    assert total <= points
    assert total == clawed_total(earn, refunded)


@given(points=st.integers(0, 10**6), cents=st.integers(1, 10**8),
       cuts=st.lists(st.integers(1, 10**8), max_size=6))
def test_refunding_everything_returns_exactly_the_earned_points(points, cents, cuts):
    """No drift: however the full base is split into refunds, the sum is the earned points."""
    earn = earned(points, Decimal(cents) / 100)
    bounds = sorted({c % cents for c in cuts} | {0, cents})
    refunded, total = Money.zero("USD"), 0
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        now = money(Decimal(hi - lo) / 100, "USD")
        total += clawback_for_refund(earn, refunded, now)
        refunded += now
    assert total == points


@given(points=st.integers(1, 10**5), cents=st.integers(1, 10**7), refund=st.integers(0, 10**7))
def test_shopper_keeps_at_least_pro_rata_on_what_they_kept(points, cents, refund):
    earn = earned(points, Decimal(cents) / 100)
    refund = min(refund, cents)
    taken = clawback_for_refund(earn, Money.zero("USD"), money(Decimal(refund) / 100, "USD"))
    assert taken * cents <= points * refund  # never more than the refunded share


@pytest.mark.parametrize("points, pending, available, allow_negative, expected", [
    (50, 80, 100, False, (50, 0, 0)),
    (50, 20, 100, False, (20, 30, 0)),
    (50, 0, 30, False, (0, 30, 20)),      # spent already: 20 written off
    (50, 0, 30, True, (0, 50, 0)),        # merchant allows a negative balance
    (50, 10, -5, False, (10, 0, 40)),
    (0, 10, 10, False, (0, 0, 0)),
])
def test_split_takes_pending_first(points, pending, available, allow_negative, expected):
    split = split_clawback(points, pending, available, allow_negative)
    assert (split.from_pending, split.from_available, split.shortfall) == expected


@given(st.integers(0, 1000), st.integers(-100, 1000), st.integers(-100, 1000), st.booleans())
def test_split_accounts_for_every_point(points, pending, available, allow_negative):
    split = split_clawback(points, pending, available, allow_negative)
    assert split.from_pending + split.from_available + split.shortfall == points
    assert min(split) >= 0
    assert split.from_pending <= max(pending, 0)
    if not allow_negative:
        assert available - split.from_available >= min(available, 0)


def test_negative_clawback_is_refused():
    with pytest.raises(ValueError):
        split_clawback(-1, 0, 0, False)
