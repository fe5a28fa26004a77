"""The analytics dashboard's queries at 1 M orders and 100 k customers, on PostgreSQL.

Every figure the dashboard shows is timed (median of 5 runs after a warm-up) beside a baseline
measured in the same run: a plain ``count(*)`` over the rows it summarises (the same source
table and shop filter). Order, membership and points figures read the rollups kept by
plugin/rollups/store.py; the rest aggregate their (smaller) source tables directly. Also
timed: the whole dashboard request (every figure, KPIs and SVG charts), the one-off rebuild
of the rollups from the source tables (a shop's first view), and what the rollups add to
recording one order (record_order with and without them).

The data is bulk-filled with SQL (generate_series) in a scratch schema; a second shop holds
10 % more rows so shop scoping is exercised. ``--reference`` also times the figures computed
straight from the source tables (plugin/analytics/reference.py; minutes at this size).

    .venv/bin/python bench/analytics.py            # 1 M orders, 100 k customers
    .venv/bin/python bench/analytics.py --quick    # 100 k orders, 10 k customers

The last line is the ratio of the slowest figure to the count of the shop's orders. Exits 0
unless a query fails; never on speed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch_services import PG_BASE, BenchError, scratch_schema  # noqa: E402

RUNS = 5
TARGET_MS = 300.0

FILL = """
INSERT INTO customers (shop_id, shopify_id, email, first_name, marketing_state, points_available, points_pending,
                       tier_name, created_at, updated_at)
SELECT :shop, (:base + n)::text, 'c' || n || '@example.com', 'C' || n, 'SUBSCRIBED',
       (n * 37) % 2000, (n * 11) % 300,
       CASE WHEN n % 10 = 0 THEN 'Oro' WHEN n % 3 = 0 THEN 'Plata' ELSE 'Bronce' END, now(), now()
FROM generate_series(1::bigint, :customers) AS n;

INSERT INTO orders (shop_id, order_id, customer_shopify_id, placed_at, total, current_total, currency,
                    financial_status, cancelled, source_name, source, created_at, updated_at)
SELECT :shop, (CAST(:base AS bigint) * 10 + n)::text,
       CASE WHEN n % 20 = 0 THEN NULL ELSE (:base + 1 + (n * 7919) % :customers)::text END,
       timestamptz '2025-01-01' + ((n * 104729) % (730 * 24)) * interval '1 hour',
       (10 + (n * 13) % 190)::numeric, (10 + (n * 13) % 190 - CASE WHEN n % 25 = 0 THEN 5 ELSE 0 END)::numeric,
       'USD', 'paid', n % 50 = 0, 'web', 'webhook', now(), now()
FROM generate_series(1::bigint, :orders) AS n;

INSERT INTO ledger_entries (shop_id, customer_id, key, kind, available, pending, reason, source, occurred_at,
                            created_at)
SELECT :shop, c.id, 'k' || c.id || ':' || k, (ARRAY['earn','earn','action','redeem','expire'])[k],
       CASE k WHEN 4 THEN -50 WHEN 5 THEN -20 ELSE 100 END, 0, 'bench', 'bench',
       timestamptz '2025-01-01' + ((c.id * 31 + k) % 700) * interval '1 day', now()
FROM customers c CROSS JOIN generate_series(1, 5) AS k
WHERE c.shop_id = :shop AND c.id % 5 < 3;

INSERT INTO referral_clicks (shop_id, advocate_id, ip_hash, ua_hash, created_at)
SELECT :shop, c.id, md5(c.id::text), md5((c.id % 7)::text), now()
FROM customers c WHERE c.shop_id = :shop AND c.id % 5 = 0;

INSERT INTO referrals (shop_id, advocate_id, email, friend_order_id, status, hold_reasons, points_awarded,
                       created_at, updated_at)
SELECT :shop, c.id, 'f' || c.id || '@example.com', (CAST(:base AS bigint) * 100 + c.id)::text,
       CASE WHEN c.id % 4 = 0 THEN 'held' ELSE 'successful' END, '[]', 500, now(), now()
FROM customers c WHERE c.shop_id = :shop AND c.id % 20 = 0;

INSERT INTO survey_responses (shop_id, order_id, survey_type, score, created_at, updated_at)
SELECT :shop, 's' || :base || ':' || n, (ARRAY['nps','csat','ces'])[1 + n % 3], n % 11,
       timestamptz '2025-01-01' + (n % 700) * interval '1 day', now()
FROM generate_series(1, :customers / 5) AS n;

INSERT INTO email_outbox (shop_id, message_id, message_key, flow, priority, marketing, locale, status, attempts,
                          send_after, created_at, updated_at)
SELECT :shop, md5(:base || ':' || n), 'm' || n, (ARRAY['welcome','points_earned','birthday','win_back'])[1 + n % 4],
       50, false, 'es', 'sent', 1, now(), now(), now()
FROM generate_series(1, :customers / 2) AS n;

INSERT INTO email_events (sg_event_id, shop_id, outbox_id, event, detail, created_at)
SELECT 'e' || m.id || ':' || k, :shop, m.id, (ARRAY['delivered','open','click'])[k], '{}', now()
FROM email_outbox m CROSS JOIN generate_series(1, 3) AS k
WHERE m.shop_id = :shop AND (k = 1 OR m.id % (k + 1) = 0);
"""

# figure -> (tables it reads, for the baseline count)
BASELINES = {
    "members_vs_non_members": "orders", "monthly_revenue": "orders", "retention_cohorts": "orders",
    "points_flow": "ledger_entries", "liability": "customers", "tier_distribution": "customers",
    "referral_funnel": "referral_clicks", "recovery": "abandoned_checkouts", "feedback_scores": "survey_responses",
    "email_rates": "email_outbox",
}


def fill(db, shop_id: int, base: int, customers: int, orders: int) -> None:
    from sqlalchemy import text
    with db.engine.begin() as conn:
        for statement in FILL.split(";\n"):
            if statement.strip():
                conn.execute(text(statement), {"shop": shop_id, "base": base, "customers": customers,
                                               "orders": orders})
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def timed(fn) -> float:
    fn()  # warm-up (plans cached, pages in memory)
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 k orders, 10 k customers")
    parser.add_argument("--reference", action="store_true", help="also time the figures from the source tables")
    args = parser.parse_args()
    customers, orders = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from sqlalchemy import text

    from plugin import create_app
    from plugin.analytics import queries, reference
    from plugin.analytics.live import compute_figures
    from plugin.analytics.report import summary
    from plugin.loyalty.rules.program import default_program, dump_program, load_program
    from plugin.models import Base, Shop
    from plugin.models.base import utcnow
    from plugin.orders import store
    from plugin.orders.facts import OrderFacts
    from plugin.rollups.store import rebuild

    with scratch_schema(PG_BASE) as url:
        app = create_app({"EMBAJADOR_MODE": "test", "SHOPIFY_API_KEY": "k", "SHOPIFY_API_SECRET": "s",
                          "SECRET_KEY": "bench-secret",
                          "ENCRYPTION_KEY": "3q6L9wF0V2b8C5kqg3Zs8bM8yG0qXcPZ3oQpI9yXbW4=",
                          "DATABASE_URL": url, "LOG_FORMAT": "text"})
        db = app.extensions["embajador"].db
        Base.metadata.create_all(db.engine)
        with db.transaction() as session:
            shops = [Shop(domain=f"bench-{i}.myshopify.com", currency="USD",
                          program=dump_program(default_program("USD", "en"))) for i in range(2)]
            session.add_all(shops)
            session.flush()
            shop_id, other_id = shops[0].id, shops[1].id
        started = time.perf_counter()
        fill(db, shop_id, 1_000_000_000, customers, orders)
        fill(db, other_id, 2_000_000_000, customers // 10, orders // 10)
        print(f"filled {orders:,} orders and {customers:,} customers (+10 % in a second shop) "
              f"in {time.perf_counter() - started:.0f} s")
        with db.transaction() as session:
            started = time.perf_counter()
            rebuild(session, shop_id, utcnow())
            rebuild(session, other_id, utcnow())
            print(f"rollups built from the source tables (a shop's first view; both shops): "
                  f"{time.perf_counter() - started:.1f} s")
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
        print(f"{'figure':24} {'ms':>8} {'count ms':>9} {'ratio':>7}  under {TARGET_MS:.0f} ms")
        worst, worst_name, orders_count = 0.0, "", 0.0
        with db.transaction() as session:
            shop = session.get(Shop, shop_id)
            program = load_program(shop.program)
            figures = {
                "members_vs_non_members": lambda: queries.members_vs_non_members(session, shop),
                "monthly_revenue": lambda: queries.monthly_revenue(session, shop),
                "retention_cohorts": lambda: queries.retention_cohorts(session, shop),
                "points_flow": lambda: queries.points_flow(session, shop),
                "liability": lambda: queries.liability(session, shop, program),
                "tier_distribution": lambda: queries.tier_distribution(session, shop, program),
                "referral_funnel": lambda: queries.referral_funnel(session, shop),
                "recovery": lambda: queries.recovery(session, shop),
                "feedback_scores": lambda: queries.feedback_scores(session, shop),
                "email_rates": lambda: queries.email_rates(session, shop),
            }
            for name, run in figures.items():
                count_sql = text(f"SELECT count(*) FROM {BASELINES[name]} WHERE shop_id = :shop")
                baseline = timed(lambda sql=count_sql: session.execute(sql, {"shop": shop_id}).scalar_one())
                if BASELINES[name] == "orders":
                    orders_count = max(orders_count, baseline)
                ms = timed(run)
                if ms > worst:
                    worst, worst_name = ms, name
                print(f"{name:24} {ms:8.1f} {baseline:9.1f} {ms / baseline if baseline else 0:7.2f}  "
                      f"{'yes' if ms < TARGET_MS else 'NO'}   (baseline: count of {BASELINES[name]})")
            count_orders = text("SELECT count(*) FROM orders WHERE shop_id = :shop")
            baseline = timed(lambda: session.execute(count_orders, {"shop": shop_id}).scalar_one())
            ms = timed(lambda: summary(shop, compute_figures(session, shop, program), utcnow(), "es"))
            print(f"{'dashboard request':24} {ms:8.1f} {baseline:9.1f} {ms / baseline:7.2f}  "
                  f"{'yes' if ms < TARGET_MS else 'NO'}   (every figure + KPIs + 9 SVG charts; baseline: count of orders)")
            if args.reference:
                for name in ("members_vs_non_members", "monthly_revenue", "retention_cohorts", "points_flow"):
                    ms = timed(lambda n=name: getattr(reference, n)(session, shop))
                    print(f"  reference (source tables) {name:24} {ms:9.1f} ms")
                    assert getattr(reference, name)(session, shop).rows == figures[name]().rows, name

        def record(n: int, customer: str) -> OrderFacts:
            placed = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=n)
            return OrderFacts(order_id=f"9{n:09d}", customer_shopify_id=customer, placed_at=placed,
                              total=Decimal("42.00"), current_total=Decimal("42.00"), currency="USD",
                              financial_status="paid", cancelled=False, source_name="web", updated_at=placed)

        def write_orders(offset: int, with_rollups: bool) -> float:
            original = store.order_changed
            if not with_rollups:
                store.order_changed = lambda *a, **k: None  # type: ignore[assignment]
            try:
                samples = []
                for n in range(offset, offset + 200):
                    with db.transaction() as session:
                        started = time.perf_counter()
                        store.record_order(session, shop_id, record(n, str(1_000_000_001 + (n * 7) % customers)))
                        samples.append((time.perf_counter() - started) * 1000)
                return statistics.median(samples)
            finally:
                store.order_changed = original

        bare, rolled = write_orders(0, False), write_orders(1000, True)
        print(f"{'record_order':24} {rolled:8.2f} {bare:9.2f} {rolled / bare:7.2f}  "
              f"(one new order with rollups vs without, median of 200)")
        print(f"slowest figure: {worst_name} {worst:.1f} ms")
        print(f"ratio slowest-figure/count(orders): {worst / orders_count:.3f}x "
              f"(target: every figure < {TARGET_MS:.0f} ms; {'met' if worst < TARGET_MS else 'NOT met'})")
        db.dispose()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(2)
