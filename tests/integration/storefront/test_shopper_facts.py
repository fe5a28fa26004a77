"""The widget reads a known shopper's facts in one statement (storefront/reads.py): they must be
exactly what the separate reads give — tier metrics for every period, the next release of pending
points, the referral counts, whether there is a usable code — whatever the ledger, referrals and
codes look like."""
from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.loyalty.rules.tiers import period_window
from plugin.loyalty.status import customer_metrics
from plugin.models import LedgerEntry, Redemption, Referral
from plugin.models.rewards import FAILED, ISSUED, REFUNDED, RESERVED
from plugin.referrals.links import referral_counts
from plugin.storefront.activity import next_release_at
from plugin.storefront.facts_cache import FactsCache
from plugin.storefront.payload import _usable_codes
from plugin.storefront.reads import known_shopper_facts, shopper_facts
from tests.integration.conftest import add_shop
from tests.integration.loyalty.test_customer_metrics import NOW, add_customer_with, entries

pending = st.lists(st.tuples(st.integers(0, 50), st.integers(-72, 72)), max_size=4)   # points, hours to release
codes = st.lists(st.tuples(st.sampled_from((RESERVED, ISSUED, FAILED, REFUNDED)), st.booleans(),
                           st.one_of(st.none(), st.integers(-48, 48))), max_size=3)  # status, used, expiry hours
referrals = st.lists(st.sampled_from(("successful", "pending", "held", "rejected", "cancelled")), max_size=4)


def _add_pending(session, customer, pending_rows, prefix: str, occurred_hours_ago: int) -> None:
    """Earns still pending, each released ``hours`` after NOW."""
    for n, (points, hours) in enumerate(pending_rows):
        session.add(LedgerEntry(shop_id=customer.shop_id, customer_id=customer.id,
                                key=f"order:{prefix}{customer.id}-{n}", kind="earn", available=0, pending=points,
                                reason="test", source="test", currency="USD",
                                available_at=NOW + timedelta(hours=hours),
                                occurred_at=NOW - timedelta(hours=occurred_hours_ago)))
    customer.points_pending = sum(points for points, _ in pending_rows)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=entries, pending_rows=pending, code_rows=codes, referral_rows=referrals)
def test_one_statement_gives_what_the_separate_reads_give(app_state, rows, pending_rows, code_rows, referral_rows):
    shop_id = add_shop(app_state, domain=f"f{uuid.uuid4().hex[:12]}.myshopify.com")
    shop = _Shop(shop_id)
    with app_state.db.transaction() as session:
        customer = add_customer_with(session, shop_id, rows)
        _add_pending(session, customer, pending_rows, "p", occurred_hours_ago=1)
        for n, (status, used, expiry) in enumerate(code_rows):
            session.add(Redemption(shop_id=shop_id, customer_id=customer.id, reward_id="r", reward_name="R", cost=1,
                                   status=status, code=f"C{customer.id}X{n}", used_at=NOW if used else None,
                                   expires_at=NOW + timedelta(hours=expiry) if expiry is not None else None))
        for n, status in enumerate(referral_rows):
            session.add(Referral(shop_id=shop_id, advocate_id=customer.id, friend_order_id=str(n), status=status))
        session.flush()
        for period in ("lifetime", "calendar_year", "rolling_12_months"):
            window = period_window(period, NOW)
            facts = shopper_facts(session, shop_id, customer.shopify_id, window, NOW)
            assert facts is not None and facts.customer.id == customer.id
            assert facts.metrics == customer_metrics(session, customer, window), period
            assert facts.next_release_at == next_release_at(session, customer, NOW)
            assert facts.referral_counts == referral_counts(session, shop, customer)
            assert facts.has_usable_codes == bool(_usable_codes(session, shop, customer, NOW))
        assert shopper_facts(session, shop_id, "1" + customer.shopify_id, window, NOW) is None, "unknown shopper"


class _Shop:
    """referral_counts and _usable_codes read only the shop's id."""

    def __init__(self, shop_id: int):
        self.id = shop_id


PERIODS = ("lifetime", "calendar_year", "rolling_12_months")
ONE_US = timedelta(microseconds=1)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=entries, pending_rows=pending, later=st.lists(st.integers(0, 2 * 365 * 24 * 60), max_size=4))
def test_kept_facts_equal_a_fresh_read_at_any_later_moment_until_the_ledger_changes(app_state, rows, pending_rows,
                                                                                    later):
    """The facts a repeat visit takes from the process's cache are exactly a fresh read's, whenever
    it comes: a release falling due, the oldest entry leaving a rolling window, a year ending —
    including the microsecond before the kept facts say they stop holding, and that instant."""
    shop_id = add_shop(app_state, domain=f"k{uuid.uuid4().hex[:12]}.myshopify.com")
    with app_state.db.transaction() as session:
        customer = add_customer_with(session, shop_id, rows)
        _add_pending(session, customer, pending_rows, "k", occurred_hours_ago=2)
        session.flush()
        sid = customer.shopify_id
        for period in PERIODS:
            cache = FactsCache(8)
            known_shopper_facts(session, cache, shop_id, sid, period, NOW)
            kept = cache.get(shop_id, sid)
            again = known_shopper_facts(session, cache, shop_id, sid, period, NOW)
            assert again.activity is kept.activity, "a repeat visit at once is answered from the cache"
            moments = [NOW + timedelta(minutes=m) for m in later]
            if kept.stable_until is not None:
                moments += [kept.stable_until - ONE_US, kept.stable_until]
            for at in sorted(moments):
                cached = known_shopper_facts(session, cache, shop_id, sid, period, at)
                fresh = known_shopper_facts(session, FactsCache(0), shop_id, sid, period, at)
                assert cached == fresh, (period, at)
                assert fresh.metrics == customer_metrics(session, customer, period_window(period, at)), (period, at)
