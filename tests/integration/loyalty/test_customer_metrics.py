"""The widget's tier progress comes from one SQL aggregate (``customer_metrics``): it must give
exactly what the pure ``metrics`` rule gives over ``customer_activity``, whatever the ledger."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.loyalty.rules.tiers import metrics, period_window
from plugin.loyalty.status import customer_activity, customer_metrics
from plugin.models import Customer, LedgerEntry
from tests.integration.conftest import add_shop

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
KINDS = ("earn", "clawback", "action", "referral", "tier_bonus", "adjust", "redeem", "expire", "release")
KEYS = ("order:{n}", "order:{n}:cancel", "order:{n}:refund:1", "action:{n}:action:birthday:", "referral:{n}", "x:{n}")
entries = st.lists(st.tuples(
    st.sampled_from(KINDS), st.integers(-500, 500), st.integers(0, 300),
    st.one_of(st.none(), st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False)),
    st.sampled_from(KEYS), st.sampled_from((None, "referral:7", "order:7", "")),
    st.integers(0, 3 * 365 * 24)), max_size=25)


def add_customer_with(session, shop_id: int, rows) -> Customer:
    customer = Customer(shop_id=shop_id, shopify_id=str(uuid.uuid4().int % 10**15))
    session.add(customer)
    session.flush()
    for n, (kind, available, pending, amount, key, ref, hours_ago) in enumerate(rows):
        session.add(LedgerEntry(shop_id=shop_id, customer_id=customer.id, key=key.format(n=f"{customer.id}-{n}"),
                                kind=kind, available=available, pending=pending, ref=ref, reason="test",
                                source="test", base_amount=amount, currency="USD",
                                occurred_at=NOW - timedelta(hours=hours_ago)))
    session.flush()
    return customer


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=entries)
def test_the_sql_aggregate_equals_the_pure_rule_over_every_entry(app_state, rows):
    shop_id = add_shop(app_state, domain=f"m{uuid.uuid4().hex[:12]}.myshopify.com")
    with app_state.db.transaction() as session:
        customer = add_customer_with(session, shop_id, rows)
        for period in ("lifetime", "calendar_year", "rolling_12_months"):
            window = period_window(period, NOW)
            assert customer_metrics(session, customer, window) == metrics(
                customer_activity(session, customer, "USD"), window), period


def test_a_cancelled_order_and_a_cancelled_referral_count_back(app_state):
    """What a shopper sees: two orders, one cancelled, one referral taken back -> 1 order, 0 referrals."""
    shop_id = add_shop(app_state)
    rows = [("earn", 100, 0, Decimal("50.00"), "order:1", None, 10),
            ("earn", 40, 0, Decimal("20.00"), "order:2", None, 9),
            ("clawback", -40, 0, Decimal("20.00"), "order:2:cancel", None, 8),
            ("referral", 200, 0, None, "referral:3", None, 7),
            ("clawback", -200, 0, None, "referral:3:cancel", "referral:3", 6)]
    with app_state.db.transaction() as session:
        customer = add_customer_with(session, shop_id, rows)
        assert customer_metrics(session, customer, (None, None)) == {
            "spend": Decimal("50.00"), "points": Decimal(100), "orders": Decimal(1), "referrals": Decimal(0)}
