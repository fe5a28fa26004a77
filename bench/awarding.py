"""orders/paid processing by the Procfile's worker on Postgres vs a no-op RQ job, same run.

Part 1 (ratio): N stored orders/paid deliveries are processed by the Procfile's worker
command, ``python -m plugin.jobs.worker --burst`` (AppWorker: a HerokuWorker that builds the
app once in the parent and forks a work horse per job), against N no-op jobs (``abs(i)``,
nothing to import) run by the same command, worker class, Redis and machine. Rounds
alternate no-op / award so the neighbours' load hits both sides alike. Throughput is
measured from the first job's start to the last job's end (RQ's own timestamps, written by
the work horses), so the worker's start-up is excluded on both sides while the per-job fork,
Postgres connection and RQ bookkeeping are not. Target ratio >= 0.3.

The worker drains: a horse that ran a delivery runs the deliveries waiting behind it in-process
(plugin/jobs/worker.py), so the award side is measured as the Procfile runs it; each drained
job still gets RQ's own started/ended timestamps. ``--per-horse`` adds a third side per round,
the same orders through ``--no-drain`` (one fork per job, as before draining). The worker's CPU
(user + system of the worker and its horses, from the kernel's accounting of waited-for
children, minus an empty run's start-up) is printed per job: the neighbours' load barely moves
it.

Nothing leaves the machine: the app's Shopify Admin origin is a local fake Shopify
(``SHOPIFY_ADMIN_ORIGIN``; test mode, because production refuses that override), so the
metafield syncs that follow the awards write to it instead of ``https://<shop>.myshopify.com``.

Part 2 (round trips, in-process): every SQL statement (BEGIN/SAVEPOINT/COMMIT included) and
every Redis round trip of one steady-state order is counted with SQLAlchemy / redis-py hooks
and listed; ``--profile`` adds a cProfile of 200 orders.

Part 3 (flat cost): the ledger is bulk-filled with SQL (generate_series) to each size up to
1 M entries, then K more orders are processed in-process and timed: cost per order must not
grow with the ledger (indexes, no full scans).

    .venv/bin/python bench/awarding.py            # 1 000 jobs per side x 2 rounds, ledger up to 1 M
    .venv/bin/python bench/awarding.py --quick    # ~1 min smoke run
    .venv/bin/python bench/awarding.py --quick --profile

Exits 0 unless an order failed or an award is missing; never on speed. The last line is the ratio.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import resource
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHOP = "bench-awarding.myshopify.com"
TOKEN = "shpat_bench"
FIXTURE = ROOT.parent / "shared" / "fixtures" / "shopify" / "webhooks" / "orders__paid.json"
BULK_CUSTOMERS = 50_000
NOOP_JOB = "builtins.abs"  # a job that does nothing and imports nothing

from scratch_services import PG_BASE, REDIS_BASE, BenchError, redis_db, scratch_schema  # noqa: E402


def app_env(pg_url: str, redis_url: str, shopify_origin: str) -> dict:
    # Test mode only because production refuses SHOPIFY_ADMIN_ORIGIN; logs are production's (JSON).
    return {"EMBAJADOR_MODE": "test", "SHOPIFY_API_KEY": "bench-api-key", "SHOPIFY_API_SECRET": "bench-secret",
            "SECRET_KEY": "bench-secret-key-at-least-32-characters", "ENCRYPTION_KEY": "3q6L9wF0V2b8C5kqg3Zs8bM8yG0qXcPZ3oQpI9yXbW4=",
            "DATABASE_URL": pg_url, "REDIS_URL": redis_url, "APP_URL": "https://embajador.bench",
            "SHOPIFY_ADMIN_ORIGIN": shopify_origin, "LOG_FORMAT": "json"}


def fake_shopify():
    from plugin.demo.fake_shopify import FakeShopify
    fake = FakeShopify(api_key="bench-api-key", api_secret="bench-secret")
    fake.tokens[TOKEN] = SHOP
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per metafieldsSet call
    origin, server = fake.serve()
    return fake, origin, server


def prepare(env: dict):
    from plugin import create_app
    from plugin.loyalty.rules.program import default_program, dump_program
    from plugin.models import Base, utcnow
    from plugin.shopify.oauth import TokenSet
    from plugin.shops.tokens import install_shop
    app = create_app(env)
    logging.getLogger("embajador").setLevel(logging.WARNING)  # in-process parts: no per-order log lines
    app_state = app.extensions["embajador"]
    Base.metadata.create_all(app_state.db.engine)
    with app_state.db.transaction() as session:
        shop = install_shop(session, app_state.cipher, SHOP, TokenSet(TOKEN, "read_orders", None), utcnow())
        shop.currency, shop.program = "USD", dump_program(default_program("USD"))
        return app, shop.id


def order_payload(base: dict, n: int, customer_shopify_id: int) -> str:
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


def run_worker(env: dict, drain: bool = True) -> float:
    """The Procfile's ``worker:`` line, in burst mode (run the queue empty, then exit). Returns
    the CPU seconds (user + system) of the worker and every horse it forked and reaped."""
    child = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPIFY_", "DATABASE_", "REDIS_"))}
    child.update(env, PYTHONPATH=str(ROOT))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([sys.executable, "-m", "plugin.jobs.worker", "--burst"] + ([] if drain else ["--no-drain"]),
                            env=child, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise BenchError(f"worker failed: {result.stderr[-500:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def jobs_throughput(redis_url: str, job_ids: list[str]) -> float:
    from redis import Redis
    from rq.job import Job
    jobs = Job.fetch_many(job_ids, connection=Redis.from_url(redis_url))
    failed = [j for j in jobs if j is None or j.get_status() != "finished"]
    if failed:
        detail = (failed[0].exc_info or "")[-300:] if failed[0] is not None else "missing"
        raise BenchError(f"{len(failed)} jobs did not finish: {detail}")
    span = (max(j.ended_at for j in jobs) - min(j.started_at for j in jobs)).total_seconds()
    return len(jobs) / span


def enqueue(app_state, func_path: str, arg, job_id: str) -> None:
    """As the app enqueues (plugin/jobs/queue.py), but results kept an hour, not 5 minutes:
    on a slow run the first jobs' timestamps must still be there when the round ends."""
    app_state.queue.queue.enqueue_call(func_path, args=(arg,), job_id=job_id, result_ttl=3600,
                                       failure_ttl=3600, timeout=300)


def part_ratio(app, shop_id: int, env: dict, redis_url: str, count: int, rounds: int, per_horse: bool) -> list[dict]:
    app_state = app.extensions["embajador"]
    startup_cpu = run_worker(env)  # an empty queue: the worker's start-up and warm-up alone
    results = []

    def award_side(start: int, drain: bool) -> tuple[float, float]:
        deliveries = store_deliveries(app_state, shop_id, start, count, lambda n: 7_000_000 + n)
        award_ids = [f"award-{d}" for d in deliveries]
        for delivery_id, job_id in zip(deliveries, award_ids, strict=True):
            enqueue(app_state, "webhooks.processing.process_delivery_job", delivery_id, job_id)
        cpu = run_worker(env, drain=drain)
        return jobs_throughput(redis_url, award_ids), 1000 * (cpu - startup_cpu) / count

    for r in range(rounds):
        noop_ids = [f"noop-{r}-{i}" for i in range(count)]
        for i, job_id in enumerate(noop_ids):
            enqueue(app_state, NOOP_JOB, -i, job_id)
        noop_cpu = run_worker(env)
        noop = jobs_throughput(redis_url, noop_ids)
        award, award_cpu = award_side(2 * r * count, drain=True)
        row = {"noop_per_s": noop, "award_per_s": award, "noop_cpu_ms": 1000 * (noop_cpu - startup_cpu) / count,
               "award_cpu_ms": award_cpu}
        if per_horse:
            row["per_horse_per_s"], row["per_horse_cpu_ms"] = award_side((2 * r + 1) * count, drain=False)
        results.append(row)
    return results


class RoundTrips:
    """Counts what one unit of work sends: SQL statements (with BEGIN/SAVEPOINT/COMMIT) and
    Redis round trips (a pipeline is one)."""

    def __init__(self, engine):
        from redis.client import Pipeline, Redis
        from sqlalchemy import event
        self.items: list[str] = []
        self.on = False

        def note(label: str) -> None:
            if self.on:
                self.items.append(label)

        event.listen(engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *a: note(" ".join(statement.split())[:110]))
        event.listen(engine, "begin", lambda conn: note("BEGIN"))
        event.listen(engine, "commit", lambda conn: note("COMMIT"))
        event.listen(engine, "rollback", lambda conn: note("ROLLBACK"))
        command, pipeline = Redis.execute_command, Pipeline.execute

        def execute_command(client, *args, **kwargs):
            if not isinstance(client, Pipeline):
                note(f"redis {args[0]}")
            return command(client, *args, **kwargs)

        def execute(pipe, *args, **kwargs):
            note(f"redis pipeline ({len(pipe.command_stack)} commands)")
            return pipeline(pipe, *args, **kwargs)

        Redis.execute_command, Pipeline.execute = execute_command, execute

    def measure(self, func):
        self.items, self.on = [], True
        try:
            func()
        finally:
            self.on = False
        return list(self.items)


def part_round_trips(app, shop_id: int, profile: bool) -> dict:
    from webhooks.processing import process_delivery
    app_state = app.extensions["embajador"]
    counter = RoundTrips(app_state.db.engine)
    # A returning customer (their 3rd order) and a first order from a new customer.
    repeat = store_deliveries(app_state, shop_id, 900_000, 3, lambda n: 8_000_000)
    first = store_deliveries(app_state, shop_id, 900_010, 2, lambda n: 8_000_001 + n)
    out = {}
    with app.app_context():
        process_delivery(app_state, repeat[0])
        process_delivery(app_state, first[0])  # warm caches
        process_delivery(app_state, repeat[1])
        out["returning customer"] = counter.measure(lambda: process_delivery(app_state, repeat[2]))
        out["new customer"] = counter.measure(lambda: process_delivery(app_state, first[1]))
        deliveries = store_deliveries(app_state, shop_id, 910_000, 200, lambda n: 8_100_000 + n % 50)
        began, cpu = time.perf_counter(), time.process_time()
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
        statuses = [process_delivery(app_state, d) for d in deliveries]
        if profile:
            profiler.disable()
            stream = io.StringIO()
            pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(25)
            out["profile"] = stream.getvalue()
        out["ms_per_order"] = 1000 * (time.perf_counter() - began) / len(deliveries)
        out["cpu_ms_per_order"] = 1000 * (time.process_time() - cpu) / len(deliveries)
    if any(s != "processed" for s in statuses):
        raise BenchError(f"an order was not processed: {Counter(statuses)}")
    out["orders"] = len(repeat) + len(first) + len(deliveries)
    return out


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
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    parser.add_argument("--jobs", type=int, default=None, help="jobs per side and round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating no-op / award rounds")
    parser.add_argument("--profile", action="store_true", help="cProfile 200 in-process orders")
    parser.add_argument("--per-horse", action="store_true", help="also the orders one horse per job (--no-drain)")
    args = parser.parse_args()
    count = args.jobs or (300 if args.quick else 1000)
    sizes = [0, 100_000] if args.quick else [0, 10_000, 100_000, 1_000_000]
    per_size = 50 if args.quick else 200
    fake, origin, server = fake_shopify()
    try:
        with scratch_schema(PG_BASE) as pg_url, redis_db(REDIS_BASE) as redis_url:
            env = app_env(pg_url, redis_url, origin)
            app, shop_id = prepare(env)
            load_before = os.getloadavg()
            rounds = part_ratio(app, shop_id, env, redis_url, count, args.rounds, args.per_horse)
            load_after = os.getloadavg()
            trips = part_round_trips(app, shop_id, args.profile)
            for label in ("returning customer", "new customer"):
                items = trips[label]
                sql = sum(1 for i in items if not i.startswith("redis"))
                print(f"round trips for one orders/paid, {label}: {len(items)} ({sql} SQL, {len(items) - sql} Redis)")
                for item in items:
                    print(f"    {item}")
            print(f"in-process: {trips['ms_per_order']:.2f} ms per order, {trips['cpu_ms_per_order']:.2f} ms CPU "
                  f"(200 orders, 50 returning customers)")
            if args.profile:
                print(trips["profile"])
            growth = part_growth(app, shop_id, sizes, per_size)
            for row in growth:
                print(f"ledger {row['ledger_entries']:>9,} entries: {row['ms_per_order']:6.2f} ms per order "
                      f"({row['orders']} orders, in-process)")
            sides = 2 if args.per_horse else 1
            check_awards(app.extensions["embajador"],
                         count * args.rounds * sides + trips["orders"] + per_size * len(sizes))
            print("every order awarded exactly once")
            print(f"metafieldsSet calls received by the local fake Shopify: {len(fake.operations('metafieldsSet'))}")
            app.extensions["embajador"].db.dispose()
    except BenchError as exc:
        print(f"awarding bench: {exc}", file=sys.stderr)
        return 2
    finally:
        server.shutdown()
    for i, r in enumerate(rounds, 1):
        line = (f"round {i}: no-op {r['noop_per_s']:7.1f} jobs/s ({r['noop_cpu_ms']:.1f} ms CPU/job), "
                f"award {r['award_per_s']:6.1f} orders/s ({r['award_cpu_ms']:.1f} ms CPU/order)")
        if args.per_horse:
            line += f", one horse per order {r['per_horse_per_s']:6.1f} orders/s ({r['per_horse_cpu_ms']:.1f} ms CPU/order)"
        print(f"{line} ({count} jobs each, python -m plugin.jobs.worker --burst)")
    print(f"load average: {load_before[0]:.2f} at the start of the worker rounds, {load_after[0]:.2f} at their end")

    def mean(key: str) -> float:
        return sum(r[key] for r in rounds) / len(rounds)
    noop, award = mean("noop_per_s"), mean("award_per_s")
    print(f"no-op RQ job: {noop:.1f} jobs/s; orders/paid award: {award:.1f} orders/s (mean of {len(rounds)} rounds)")
    if args.per_horse:
        print(f"ratio one-horse-per-order/noop (--no-drain): {mean('per_horse_per_s') / noop:.2f}x")
    print(f"ratio awarding/noop: {award / noop:.2f}x (target >= 0.3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
