"""The what-if at 1 M orders and 100 k customers, on PostgreSQL, beside its limit.

    .venv/bin/python bench/whatif.py            # 1 M orders, 100 k customers (goal: under 60 s)
    .venv/bin/python bench/whatif.py --quick    # 100 k orders, 10 k customers

Two numbers, same orders, same run:

1. **the limit** — the pure rules alone (plugin/whatif/rules: ``simulate_customer`` for the live
   program and the draft, and the ``Comparison``) over every customer's records already in memory;
   nothing the what-if does can be faster than this;
2. **ours** — ``compare_programs`` as the job and the CLI run it: stream the orders table joined
   with the earn entries and the ledger's actions from Postgres, build the records, simulate both
   programs, compare.

The data is bulk-filled with SQL (generate_series) in a scratch schema: the default program's
rolling tiers, half the orders with an earn entry (the live engine's base), a signup action per
customer, 4 % of orders partly refunded, 2 % cancelled, 5 % guests; a second shop holds 10 % more
rows so shop scoping is exercised. Exits 0 unless something fails; never on speed. The last line
is the ratio of throughputs, ours / limit.
"""
from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import os
import pstats
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch_services import PG_BASE, BenchError, scratch_schema  # noqa: E402

TARGET_S = 60.0
TARGET_RATIO = 0.5

FILL = """
INSERT INTO customers (shop_id, shopify_id, email, marketing_state, points_available, points_pending, created_at,
                       updated_at)
SELECT :shop, (:base + n)::text, 'c' || n || '@example.com', 'SUBSCRIBED', 0, 0, now(), now()
FROM generate_series(1::bigint, :customers) AS n;

INSERT INTO orders (shop_id, order_id, customer_shopify_id, placed_at, total, current_total, currency,
                    financial_status, cancelled, source_name, source, created_at, updated_at)
SELECT :shop, (CAST(:base AS bigint) * 10 + n)::text,
       CASE WHEN n % 20 = 0 THEN NULL ELSE (:base + 1 + (n * 7919) % :customers)::text END,
       timestamptz '2025-01-01' + ((n * 104729) % (700 * 24)) * interval '1 hour',
       (10 + (n * 13) % 190)::numeric, (10 + (n * 13) % 190 - CASE WHEN n % 25 = 0 THEN 5 ELSE 0 END)::numeric,
       'USD', CASE WHEN n % 25 = 0 THEN 'partially_refunded' ELSE 'paid' END, n % 50 = 0, 'web', 'webhook',
       now(), now()
FROM generate_series(1::bigint, :orders) AS n;

ANALYZE customers;

ANALYZE orders;

INSERT INTO ledger_entries (shop_id, customer_id, key, kind, available, pending, reason, source, order_id,
                            base_amount, currency, occurred_at, created_at)
SELECT :shop, c.id, format('order:%s:earn', o.order_id), 'earn', floor(o.total * 0.9)::int, 0, 'bench', 'bench',
       o.order_id, round(o.total * 0.9, 2), 'USD', o.placed_at, now()
FROM orders o JOIN customers c ON c.shop_id = o.shop_id AND c.shopify_id = o.customer_shopify_id
WHERE o.shop_id = :shop AND NOT o.cancelled AND o.order_id::bigint % 2 = 0;

INSERT INTO ledger_entries (shop_id, customer_id, key, kind, available, pending, reason, source, occurred_at,
                            created_at)
SELECT :shop, c.id, format('customer:%s:action:signup:once', c.id), 'action', 100, 0, 'bench', 'bench',
       timestamptz '2025-01-01' + (c.id % 300) * interval '1 day', now()
FROM customers c WHERE c.shop_id = :shop;

INSERT INTO ledger_entries (shop_id, customer_id, key, kind, available, pending, reason, source, occurred_at,
                            created_at)
SELECT :shop, c.id, format('redemption:%s:redeem', c.id), 'redeem', -500, 0, 'bench', 'bench',
       timestamptz '2026-06-01', now()
FROM customers c WHERE c.shop_id = :shop AND c.id % 3 = 0
"""


def fill(db, shop_id: int, base: int, customers: int, orders: int) -> None:
    from sqlalchemy import text
    with db.engine.begin() as conn:
        for statement in FILL.split(";\n"):
            if statement.strip():
                conn.execute(text(statement), {"shop": shop_id, "base": base, "customers": customers,
                                               "orders": orders})
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def _children_cpu() -> float:
    """CPU time of the waited-for child processes (the forked parts of a multi-process run)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _limit(rules, histories: list, processes: int):
    """The pure rules over the records in memory, split into ``processes`` consecutive slices
    replayed by forked children (as ``compare_programs`` splits customers), merged the same way."""
    from plugin.whatif.rules.comparison import Comparison
    if processes <= 1:
        return rules(histories)
    size = -(-len(histories) // processes)
    _FORKED[:] = [rules, [histories[i:i + size] for i in range(0, len(histories), size)]]  # inherited, not pickled
    with multiprocessing.get_context("fork").Pool(len(_FORKED[1])) as pool:
        parts = pool.map(_slice, range(len(_FORKED[1])))
    return Comparison.merged(parts)


_FORKED: list = []


def _slice(index: int):
    rules, slices = _FORKED
    return rules(slices[index])


def _report_profile(profiler) -> None:
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 k orders, 10 k customers")
    parser.add_argument("--processes", type=int, default=0,
                        help="processes for both sides (0: what WHATIF_PROCESSES=0 picks, one per CPU up to 4)")
    parser.add_argument("--profile", choices=("limit", "ours"), help="print cProfile's top functions of one side")
    args = parser.parse_args()
    customers, orders = (10_000, 100_000) if args.quick else (100_000, 1_000_000)

    from plugin import create_app
    from plugin.loyalty.rules.program import default_program, dump_program, load_program
    from plugin.models import Base, Shop
    from plugin.models.base import utcnow
    from plugin.whatif.history import (
        compare_programs,
        customer_histories,
        ledger_events,
        ledger_redemption_rate,
        process_count,
        shop_zone,
    )
    from plugin.whatif.rules.comparison import Comparison
    from plugin.whatif.rules.simulation import Pricer, simulate_customer

    with scratch_schema(PG_BASE) as url:
        app = create_app({"EMBAJADOR_MODE": "test", "SHOPIFY_API_KEY": "k", "SHOPIFY_API_SECRET": "s",
                          "SECRET_KEY": "bench-secret",
                          "ENCRYPTION_KEY": "3q6L9wF0V2b8C5kqg3Zs8bM8yG0qXcPZ3oQpI9yXbW4=",
                          "DATABASE_URL": url, "LOG_FORMAT": "text"})
        db = app.extensions["embajador"].db
        Base.metadata.create_all(db.engine)
        live_doc = dump_program(default_program("USD", "en"))
        draft_doc = dict(live_doc, earn=dict(live_doc["earn"], points=2),
                         tiers=[dict(t, threshold=dict(t["threshold"], value="100")) if t["name"] == "Silver" else t
                                for t in live_doc["tiers"]])
        draft = load_program(draft_doc)
        with db.transaction() as session:
            shops = [Shop(domain=f"bench-{i}.myshopify.com", currency="USD", program=live_doc) for i in range(2)]
            session.add_all(shops)
            session.flush()
            shop_id, other_id = shops[0].id, shops[1].id
        started = time.perf_counter()
        fill(db, shop_id, 1_000_000_000, customers, orders)
        fill(db, other_id, 2_000_000_000, customers // 10, orders // 10)
        print(f"filled {orders:,} orders, {customers:,} customers, their earn entries and actions "
              f"(+10 % in a second shop) in {time.perf_counter() - started:.0f} s")
        now = utcnow()
        with db.transaction() as session:
            shop = session.get(Shop, shop_id)
            live, zone = load_program(shop.program), shop_zone(shop)
            counted = [0]
            histories = list(customer_histories(session, shop_id, ledger_events(session, shop_id),
                                                lambda n: counted.__setitem__(0, counted[0] + n)))
            rate = ledger_redemption_rate(session, shop_id)
            load = os.getloadavg()[0]

            profiler = cProfile.Profile() if args.profile == "limit" else None
            if profiler:
                profiler.enable()
            processes = process_count(session, args.processes, counted[0])

            def rules(part: list) -> Comparison:
                comparison = Comparison(live, draft, rate, now)
                live_prices, draft_prices = Pricer(live), Pricer(draft)
                for sid, records in part:
                    comparison.add(sid, simulate_customer(live, records, now, zone, live_prices),
                                   simulate_customer(draft, records, now, zone, draft_prices))
                return comparison

            started, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
            limit_report = _limit(rules, histories, processes).result()
            limit_s = time.perf_counter() - started
            limit_cpu = time.process_time() - cpu + _children_cpu() - children
            _report_profile(profiler)

            profiler = cProfile.Profile() if args.profile == "ours" else None
            if profiler:
                profiler.enable()

            started, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
            report = compare_programs(session, shop, draft, now, processes=processes)
            ours_s = time.perf_counter() - started
            ours_cpu = time.process_time() - cpu + _children_cpu() - children
            _report_profile(profiler)
        if {k: v for k, v in report.items() if k != "orders"} != limit_report:
            raise BenchError("the job's report differs from the pure rules' own")
        n = report["orders"]
        print(f"orders replayed: {n:,} (customers {report['customers']:,}); liability live "
              f"{report['live']['liability']['amount']} → draft {report['draft']['liability']['amount']} USD")
        print(f"load average before the timed runs: {load:.1f} on {os.cpu_count()} cores")
        print(f"processes: {processes} on each side (the limit splits the in-memory records the same way)")
        print(f"limit (pure rules, records in memory): {limit_s:6.1f} s wall ({limit_cpu:5.1f} s CPU)  "
              f"{n / limit_s:10,.0f} orders/s")
        print(f"ours (Postgres → rules → report):     {ours_s:6.1f} s wall ({ours_cpu:5.1f} s CPU in Python)  "
              f"{n / ours_s:10,.0f} orders/s  {'under' if ours_s < TARGET_S else 'OVER'} {TARGET_S:.0f} s")
        print(f"ratio ours/limit: {limit_s / ours_s:.2f}x (target >= {TARGET_RATIO}x)")
        db.dispose()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(1)
