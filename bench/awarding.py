"""orders/paid processing by a real RQ worker on Postgres vs a no-op RQ job, same run.

Part 1 (ratio): N stored orders/paid deliveries are processed by `rq worker --burst`
(SimpleWorker, the app built once per worker) — parse, find the customer, lock, post the
earn entry, re-evaluate the tier — against N no-op jobs through the same Redis and worker.
Throughput is measured from the first job's start to the last job's end (RQ's own
timestamps), so worker start-up is excluded on both sides. Target ratio ≥ 0.3.

Part 2 (flat cost): the ledger is bulk-filled with SQL (generate_series) to each size up to
1 M entries, then K more orders are processed in-process and timed: cost per order must
not grow with the ledger (indexes, no full scans).

    .venv/bin/python bench/awarding.py            # 1 000 jobs per side, ledger up to 1 M
    .venv/bin/python bench/awarding.py --quick    # < 60 s smoke run

Exits 0 unless an order failed or an award is missing; never on speed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
SHOP = "bench-awarding.myshopify.com"
FIXTURE = ROOT.parent / "shared" / "fixtures" / "shopify" / "webhooks" / "orders__paid.json"
BULK_CUSTOMERS = 50_000


def noop_job(delivery_id: int) -> str:
    """The baseline: an RQ job that does nothing."""
    return "ok"


from scratch_services import PG_BASE, REDIS_BASE, BenchError, redis_db, scratch_schema  # noqa: E402


def app_env(pg_url: str, redis_url: str) -> dict:
    return {"EMBAJADOR_MODE": "production", "SHOPIFY_API_KEY": "bench-api-key", "SHOPIFY_API_SECRET": "bench-secret",
            "SECRET_KEY": "bench-secret-key-at-least-32-characters", "ENCRYPTION_KEY": "3q6L9wF0V2b8C5kqg3Zs8bM8yG0qXcPZ3oQpI9yXbW4=",
            "DATABASE_URL": pg_url, "REDIS_URL": redis_url, "APP_URL": "https://embajador.bench",
            "LOG_LEVEL": "WARNING"}


def prepare(env: dict):
    from plugin import create_app
    from plugin.loyalty.rules.program import default_program, dump_program
    from plugin.models import Base, utcnow
    from plugin.shopify.oauth import TokenSet
    from plugin.shops.tokens import install_shop
    app = create_app(env)
    import logging
    logging.getLogger("embajador").setLevel(logging.WARNING)  # in-process part: no per-order log lines
    app_state = app.extensions["embajador"]
    Base.metadata.create_all(app_state.db.engine)
    with app_state.db.transaction() as session:
        shop = install_shop(session, app_state.cipher, SHOP, TokenSet("shpat_bench", "read_orders", None), utcnow())
        shop.currency, shop.program = "USD", dump_program(default_program("USD"))
        return app, shop.id


def order_payload(base: dict, n: int, customer_shopify_id: int) -> str:
    from datetime import datetime
    at = datetime.now(UTC).isoformat()
    order = dict(base, id=10_000_000 + n, name=f"#B{n}", cancelled_at=None, financial_status="paid",
                 created_at=at, processed_at=at, email=f"bench{customer_shopify_id}@example.com",
                 customer=dict(base["customer"], id=customer_shopify_id, email=f"bench{customer_shopify_id}@example.com"))
    return json.dumps(order)


def store_deliveries(app_state, shop_id: int, start: int, count: int, customer_of) -> list[int]:
    from plugin.models import WebhookDelivery
    base = json.loads(FIXTURE.read_text())
    with app_state.db.transaction() as session:
        rows = [WebhookDelivery(shop_domain=SHOP, shop_id=shop_id, topic="orders/paid", dedupe_key=f"bench-{n}",
                                payload=order_payload(base, n, customer_of(n))) for n in range(start, start + count)]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def run_worker(env: dict, redis_url: str) -> None:
    child = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPIFY_", "DATABASE_", "REDIS_"))}
    child.update(env, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'bench'}")
    result = subprocess.run([str(BIN / "rq"), "worker", "--burst", "-w", "rq.worker.SimpleWorker", "--url", redis_url,
                             "--quiet", "embajador"], env=child, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise BenchError(f"rq worker failed: {result.stderr[-500:]}")


def jobs_throughput(redis_url: str, job_ids: list[str]) -> float:
    from redis import Redis
    from rq.job import Job
    jobs = Job.fetch_many(job_ids, connection=Redis.from_url(redis_url))
    if any(j is None or j.get_status() != "finished" for j in jobs):
        raise BenchError("a job did not finish")
    span = (max(j.ended_at for j in jobs) - min(j.started_at for j in jobs)).total_seconds()
    return len(jobs) / span


def part_ratio(app, shop_id: int, env: dict, redis_url: str, count: int) -> dict:
    app_state = app.extensions["embajador"]
    noop_ids = [f"noop-{i}" for i in range(count)]
    for i, job_id in enumerate(noop_ids):
        app_state.queue.enqueue("awarding.noop_job", i, job_id=job_id)
    run_worker(env, redis_url)
    noop = jobs_throughput(redis_url, noop_ids)
    deliveries = store_deliveries(app_state, shop_id, 0, count, lambda n: 7_000_000 + n)
    award_ids = [f"award-{d}" for d in deliveries]
    for delivery_id, job_id in zip(deliveries, award_ids, strict=False):
        app_state.queue.enqueue("webhooks.processing.process_delivery_job", delivery_id, job_id=job_id)
    run_worker(env, redis_url)
    award = jobs_throughput(redis_url, award_ids)
    return {"noop_per_s": noop, "award_per_s": award, "ratio": award / noop}


def bulk_fill(app_state, shop_id: int, target: int) -> None:
    """Grow the ledger to ``target`` rows with plain SQL (fast), spread over many customers."""
    from sqlalchemy import text
    with app_state.db.engine.begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM customers WHERE shop_id = :s AND shopify_id LIKE '9%'"),
                            {"s": shop_id}).scalar()
        if have == 0:
            conn.execute(text(
                "INSERT INTO customers (shop_id, shopify_id, marketing_state, points_available, points_pending, "
                "created_at, updated_at) SELECT :s, (9000000 + i)::text, 'NOT_SUBSCRIBED', 0, 0, now(), now() "
                "FROM generate_series(1, CAST(:n AS integer)) i"), {"s": shop_id, "n": BULK_CUSTOMERS})
        first = conn.execute(text("SELECT min(id) FROM customers WHERE shop_id = :s AND shopify_id LIKE '9%'"),
                             {"s": shop_id}).scalar()
        current = conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar()
        if target > current:
            conn.execute(text(
                "INSERT INTO ledger_entries (shop_id, customer_id, key, kind, available, pending, reason, source, "
                "occurred_at, created_at) SELECT :s, :first + (i % :c), 'bulk:' || i, 'adjust', 1, 0, 'bench fill', "
                "'bench', now() - (i % 300) * interval '1 day', now() FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) i"),
                {"s": shop_id, "first": first, "c": BULK_CUSTOMERS, "a": current + 1, "b": target})
            conn.execute(text("UPDATE customers c SET points_available = t.n FROM (SELECT customer_id, sum(available) n "
                              "FROM ledger_entries GROUP BY customer_id) t WHERE t.customer_id = c.id"))
        conn.execute(text("ANALYZE customers; ANALYZE ledger_entries"))


def part_growth(app, shop_id: int, sizes: list[int], per_size: int) -> list[dict]:
    from webhooks.processing import process_delivery
    app_state = app.extensions["embajador"]
    rows, start = [], 100_000
    for size in sizes:
        bulk_fill(app_state, shop_id, size)
        # Orders by customers who already have ledger history (the realistic, costlier case).
        deliveries = store_deliveries(app_state, shop_id, start, per_size, lambda n: 9_000_001 + n % BULK_CUSTOMERS)
        start += per_size
        with app.app_context():
            if os.environ.get("BENCH_PROFILE"):
                import cProfile
                process_delivery(app_state, deliveries.pop())  # warm caches; profile the steady state
                cProfile.runctx("process_delivery(app_state, deliveries.pop())", globals(), locals(), sort="tottime")
            began = time.perf_counter()
            statuses = [process_delivery(app_state, d) for d in deliveries]
            elapsed = time.perf_counter() - began
        if any(s != "processed" for s in statuses):
            raise BenchError(f"an order was not processed at ledger size {size}: {set(statuses)}")
        rows.append({"ledger_entries": size, "orders": per_size, "ms_per_order": 1000 * elapsed / per_size})
    return rows


def check_awards(app_state, expected: int) -> None:
    from sqlalchemy import text
    with app_state.db.engine.connect() as conn:
        earned = conn.execute(text("SELECT count(*) FROM ledger_entries WHERE kind = 'earn'")).scalar()
    if earned != expected:
        raise BenchError(f"{earned} earn entries for {expected} orders")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, < 60 s")
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    count = args.jobs or (200 if args.quick else 1000)
    sizes = [0, 20_000, 100_000] if args.quick else [0, 10_000, 100_000, 1_000_000]
    per_size = 50 if args.quick else 200
    try:
        with scratch_schema(PG_BASE) as pg_url, redis_db(REDIS_BASE) as redis_url:
            env = app_env(pg_url, redis_url)
            app, shop_id = prepare(env)
            ratio = part_ratio(app, shop_id, env, redis_url, count)
            print(f"no-op RQ job:        {ratio['noop_per_s']:8.1f} jobs/s ({count} jobs, SimpleWorker)")
            print(f"orders/paid award:   {ratio['award_per_s']:8.1f} orders/s")
            print(f"ratio award/no-op:   {ratio['ratio']:8.2f}x (target >= 0.3)")
            growth = part_growth(app, shop_id, sizes, per_size)
            for row in growth:
                print(f"ledger {row['ledger_entries']:>9,} entries: {row['ms_per_order']:6.2f} ms per order "
                      f"({row['orders']} orders, in-process)")
            check_awards(app.extensions["embajador"], count + per_size * len(sizes))
            print("every order awarded exactly once")
            app.extensions["embajador"].db.dispose()
    except BenchError as exc:
        print(f"awarding bench: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
