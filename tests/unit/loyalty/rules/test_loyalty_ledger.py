from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugin.loyalty.rules import ledger as L
from plugin.loyalty.rules.clawback import split_clawback
from plugin.loyalty.rules.ledger import Balance, Entry, append, balance_of


def test_keys_are_deterministic_and_readable():
    assert L.earn_key(820982911946154508) == "order:820982911946154508:earn"
    assert L.earn_key("820982911946154508") == L.earn_key(Decimal("820982911946154508"))
    assert L.cancel_key(5) == "order:5:cancel"
    assert L.clawback_key(890088186047892319) == "refund:890088186047892319:clawback"
    assert L.release_key("order:5:earn") == "order:5:earn:release"
    assert L.release_key(42) == "entry:42:release"
    assert L.redeem_key("r-1") == "redemption:r-1:redeem"
    assert L.redeem_refund_key("r-1") == "redemption:r-1:refund"
    assert L.expire_key(7, date(2026, 3, 1)) == "customer:7:expire:2026-03-01"
    assert L.action_key("birthday", 7, 2026) == "customer:7:action:birthday:2026"
    assert L.action_key("signup", 7) == "customer:7:action:signup:once"
    assert L.referral_key(99) == "referral:99:advocate"
    assert L.adjust_key(3) == "adjust:3"


def test_key_parts_cannot_collide_through_separators():
    assert L.tier_bonus_key(7, "Oro:VIP") != L.tier_bonus_key("7:tier_bonus:Oro", "VIP")
    assert L.tier_bonus_key(7, "Oro VIP") == "customer:7:tier_bonus:Oro%20VIP"


@pytest.mark.parametrize("bad", [1.5e17, None, "", "   ", True])
def test_keys_refuse_ids_that_are_not_ids(bad):
    with pytest.raises((TypeError, ValueError)):
        L.earn_key(bad)


def test_the_journey_of_one_order():
    entries = ()
    entries, _ = append(entries, Entry(L.action_key("signup", 7), "action", available=100))
    entries, _ = append(entries, L.earn_entry(1001, 359, pending=True))
    assert balance_of(entries) == Balance(available=100, pending=359)

    split = split_clawback(179, L.pending_of(entries, L.earn_key(1001)), balance_of(entries).available, False)
    entries, _ = append(entries, L.clawback_entry(L.clawback_key(55), L.earn_key(1001), split.from_pending, split.from_available))
    assert balance_of(entries) == Balance(available=100, pending=180)

    release = L.release_entry(entries, L.earn_key(1001))
    assert (release.available, release.pending) == (180, -180)
    entries, _ = append(entries, release)
    assert balance_of(entries) == Balance(available=280, pending=0)
    assert L.release_entry(entries, L.earn_key(1001)) is None  # nothing left to release

    entries, _ = append(entries, L.redeem_entry("r1", 250, balance_of(entries)))
    assert balance_of(entries) == Balance(available=30, pending=0)
    with pytest.raises(L.InsufficientPoints):
        L.redeem_entry("r2", 250, balance_of(entries))

    expire = L.expire_entry(7, date(2027, 3, 1), balance_of(entries))
    entries, _ = append(entries, expire)
    assert balance_of(entries) == Balance(0, 0)
    assert L.expire_entry(7, date(2027, 3, 2), balance_of(entries)) is None


def test_earn_without_pending_days_is_spendable_at_once():
    assert balance_of([L.earn_entry(1, 40, pending=False)]) == Balance(available=40, pending=0)


def test_replayed_webhook_does_not_double_points():
    entries, first = append((), L.earn_entry(1001, 359, pending=True))
    entries, second = append(entries, L.earn_entry(1001, 359, pending=True))
    entries, third = append(entries, L.earn_entry(1001, 999, pending=True))  # a later replay with other numbers
    assert (first, second, third) == (True, False, False)
    assert balance_of(entries).pending == 359


def test_entries_refuse_unknown_kinds_and_non_integer_points():
    with pytest.raises(ValueError):
        Entry("k", "gift")
    with pytest.raises(TypeError):
        Entry("k", "adjust", available=Decimal("1.5"))
    with pytest.raises(TypeError):
        Entry("k", "adjust", available=True)


def test_redeem_needs_a_positive_cost():
    with pytest.raises(ValueError):
        L.redeem_entry("r", 0, Balance(10, 0))


entry_st = st.builds(
    Entry,
    key=st.text("abc:0123", min_size=1, max_size=6),
    kind=st.sampled_from(L.KINDS),
    available=st.integers(-10**6, 10**6),
    pending=st.integers(-10**6, 10**6),
)


@given(st.lists(entry_st, max_size=40))
def test_balance_is_the_sum_of_entries(entries):
    balance = balance_of(entries)
    assert balance.available == sum(e.available for e in entries)
    assert balance.pending == sum(e.pending for e in entries)
    assert balance.total == balance.available + balance.pending
    half = len(entries) // 2
    left, right = balance_of(entries[:half]), balance_of(entries[half:])
    assert balance == Balance(left.available + right.available, left.pending + right.pending)


@given(st.lists(entry_st, max_size=40))
def test_awarding_is_idempotent_by_key(entries):
    once = ()
    for entry in entries:
        once, _ = append(once, entry)
    twice = once
    for entry in entries + entries[::-1]:
        twice, applied = append(twice, entry)
        assert not applied
    assert twice == once
    assert len({e.key for e in once}) == len(once)
    assert balance_of(twice) == balance_of(once)


@given(st.lists(st.tuples(st.integers(1, 5), st.integers(0, 500)), max_size=15), st.integers(0, 500))
def test_release_never_releases_more_than_is_pending(earns, claw):
    entries = ()
    for order, points in earns:
        entries, _ = append(entries, L.earn_entry(order, points, pending=True))
    ref = L.earn_key(1)
    split = split_clawback(claw, L.pending_of(entries, ref), 0, False)
    entries, _ = append(entries, L.clawback_entry(L.clawback_key(1), ref, split.from_pending, split.from_available))
    release = L.release_entry(entries, ref)
    if release is not None:
        entries, _ = append(entries, release)
    assert L.pending_of(entries, ref) == 0
    assert balance_of(entries).pending >= 0
    assert balance_of(entries).available >= 0
