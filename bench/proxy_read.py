"""App Proxy ``GET /proxy/customer`` at 100k customers and 10k ledger rows for the shopper,
under 16 concurrent clients, beside the bare Flask endpoint in the same run: the hot path
(repeat visits, the ledger's facts from the web process's cache, storefront/facts_cache.py) and
the cold path (the same app with PROXY_FACTS_CACHE_SIZE=0: every answer read in full).

Goal: p99 < 50 ms for the widget's one request (the shopper waits for it on every page that
shows the widget). Both servers run with gunicorn.conf.py and are driven by bench/load.py
(signed App Proxy queries, fresh timestamps) in its own process. The data lives in a scratch
Postgres schema filled with ``INSERT … SELECT generate_series`` (a few seconds), ANALYZEd.
Before the load, the answer is checked against the ledger (balance, tier progress, the five
latest entries, the next release): a fast wrong answer fails the bench. Exits non-zero only on
a failed request or a wrong answer, never on speed.

    .venv/bin/python bench/proxy_read.py                   # 20 s per side, 16 connections
    .venv/bin/python bench/proxy_read.py --quick           # 300 requests per side, small data (CI smoke)
    .venv/bin/python bench/proxy_read.py --profile 200 [--cache-off]   # in-process, statements per answer
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch_services import PG_BASE, REDIS_BASE, BenchError, redis_db, scratch_schema  # noqa: E402
from webhook_ingress import (  # noqa: E402
    SECRET,
    SHOP,
    WEB_APP_NAME,
    app_env,
    child_env,
    gunicorn,
    gunicorn_settings,
    prepare_app,
    server_cpu,
)

SHOPPER = "7000000000001"  # the shopper with the long history


def seed(app_state, customers: int, entries: int, now: datetime) -> dict:
    """``customers`` customers with one earn entry each, and ``entries`` ledger rows for SHOPPER
    (earns, actions, referrals, a cancellation, releases, redemptions over two years; the
    last 20 still pending). Returns what the answer must show, computed here from the rows."""
    from sqlalchemy import text
    with app_state.db.engine.begin() as conn:
        shop_id = conn.execute(text("SELECT id FROM shops WHERE domain = :d"), {"d": SHOP}).scalar_one()
        params = {"shop": shop_id, "n": customers, "m": entries, "now": now}
        conn.execute(text(
            "INSERT INTO customers (shop_id, shopify_id, email, first_name, marketing_state, points_available,"
            " points_pending, referral_code, created_at, updated_at)"
            " SELECT :shop, (7000000000000 + g)::text, 'c' || g || '@example.com', 'C' || g, 'NOT_SUBSCRIBED',"
            " 0, 0, 'BENCH' || g, :now, :now FROM generate_series(1, :n) AS g"), params)
        conn.execute(text(
            "INSERT INTO ledger_entries (shop_id, customer_id, key, kind, available, pending, reason, source,"
            " base_amount, currency, occurred_at, created_at)"
            " SELECT :shop, c.id, 'bench:first:' || c.id, 'earn', 10, 0, 'order', 'bench', 10, 'USD', :now, :now"
            " FROM customers AS c WHERE c.shop_id = :shop AND c.shopify_id <> '7000000000001'"), params)
        # SHOPPER: entry g (1 = oldest) happens g hours apart, ending now; kinds cycle.
        conn.execute(text(
            "INSERT INTO ledger_entries (shop_id, customer_id, key, kind, available, pending, ref, reason, source,"
            " base_amount, currency, available_at, occurred_at, created_at)"
            r" SELECT :shop, c.id, CASE WHEN g % 50 = 7 THEN 'order:' || g || '\:cancel' ELSE 'bench:' || g END"
            "   || CASE WHEN g % 10 = 3 THEN ':action:newsletter:' ELSE '' END,"
            "  CASE WHEN g % 50 = 7 THEN 'clawback' WHEN g % 10 = 3 THEN 'action' WHEN g % 25 = 5 THEN 'referral'"
            "       WHEN g % 10 = 9 THEN 'redeem' ELSE 'earn' END,"
            "  CASE WHEN g > :m - 20 THEN 0 WHEN g % 50 = 7 THEN -5 WHEN g % 10 = 9 THEN -3 ELSE 5 END,"
            "  CASE WHEN g > :m - 20 THEN 5 ELSE 0 END,"
            "  CASE WHEN g % 25 = 5 THEN 'referral:' || g END, 'bench', 'bench',"
            "  CASE WHEN g % 10 IN (3, 9) OR g % 25 = 5 THEN NULL WHEN g % 50 = 7 THEN 12.5 ELSE 25.5 END, 'USD',"
            "  CASE WHEN g > :m - 20 THEN CAST(:now AS timestamptz) + g * interval '1 minute' END,"
            "  CAST(:now AS timestamptz) - (:m - g) * interval '105 minutes', :now"
            " FROM customers AS c, generate_series(1, :m) AS g"
            " WHERE c.shop_id = :shop AND c.shopify_id = '7000000000001'"), params)
        conn.execute(text(
            "UPDATE customers SET points_available = t.available, points_pending = t.pending"
            " FROM (SELECT customer_id, sum(available) AS available, sum(pending) AS pending FROM ledger_entries"
            "       GROUP BY customer_id) AS t WHERE t.customer_id = customers.id"))
        expected = dict(conn.execute(text(
            "SELECT c.points_available AS available, c.points_pending AS pending,"
            " (SELECT min(available_at) FROM ledger_entries e WHERE e.customer_id = c.id AND e.pending > 0"
            "  AND e.available_at > :now) AS release_at,"
            " (SELECT count(*) FROM ledger_entries e WHERE e.customer_id = c.id) AS entries"
            " FROM customers c WHERE c.shopify_id = :shopper"), {"now": now, "shopper": SHOPPER}).mappings().one())
        expected["latest"] = conn.execute(text(
            "SELECT kind FROM ledger_entries WHERE customer_id = (SELECT id FROM customers WHERE shopify_id = :s)"
            " AND kind <> 'release' ORDER BY occurred_at DESC, id DESC LIMIT 5"), {"s": SHOPPER}).scalars().all()
        conn.execute(text("ANALYZE customers"))
        conn.execute(text("ANALYZE ledger_entries"))
    return expected


def expected_progress(app_state, now: datetime) -> dict:
    """The tier progress the old, obviously correct path computes: every entry through
    ``customer_activity`` and the pure ``metrics`` rule (slow: that is what it replaced)."""
    from sqlalchemy import select

    from plugin.loyalty.rules.tiers import metrics, period_window, progress_to_next
    from plugin.loyalty.status import customer_activity, shop_program
    from plugin.models import Customer, Shop
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        customer = session.execute(select(Customer).where(Customer.shopify_id == SHOPPER)).scalar_one()
        program = shop_program(shop)
        values = metrics(customer_activity(session, customer, shop.currency), period_window(program.tier_period, now))
        upcoming = progress_to_next(program, values, customer.tier_name)
    return {"values": values, "next": upcoming}


def check_answer(port: int, expected: dict, progress: dict) -> list[str]:
    """One signed request; what it must say about SHOPPER."""
    import time

    from plugin.shopify.signatures import sign_app_proxy
    params = {"shop": SHOP, "logged_in_customer_id": SHOPPER, "path_prefix": "/apps/embajador",
              "timestamp": str(int(time.time()))}
    query = urlencode(dict(params, signature=sign_app_proxy(params, SECRET)))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/proxy/customer?{query}", timeout=30) as response:
        body = json.loads(response.read())
    problems = []
    if body["points"]["available"] != expected["available"] or body["points"]["pending"] != expected["pending"]:
        problems.append(f"points {body['points']} != {expected['available']}/{expected['pending']}")
    release = expected["release_at"].isoformat() if expected["release_at"] else None
    if body["points"]["pending_release_at"] != release:
        problems.append(f"pending_release_at {body['points']['pending_release_at']} != {release}")
    if [entry["kind"] for entry in body["activity"]] != expected["latest"]:
        problems.append(f"activity {[e['kind'] for e in body['activity']]} != {expected['latest']}")
    upcoming = progress["next"]
    if upcoming is None:
        if body["next_tier"] is not None:
            problems.append(f"next_tier {body['next_tier']} != None")
    else:
        remaining = getattr(upcoming.remaining, "amount", upcoming.remaining)
        if body["next_tier"]["name"] != upcoming.name or Decimal(body["next_tier"]["remaining"]) != Decimal(remaining):
            problems.append(f"next_tier {body['next_tier']} != {upcoming}")
    return problems


def profile_in_process(env: dict, requests: int, top: int, explain: bool = True, dump: str | None = None) -> None:
    """cProfile (CPU time) of ``requests`` answers through Flask's test client, and the SQL
    statements they ran: where one answer's time goes, without HTTP or the machine's noise."""
    import cProfile
    import io
    import pstats
    import time

    from sqlalchemy import event

    from plugin import create_app
    from plugin.shopify.signatures import sign_app_proxy
    app = create_app(env)
    statements: list[str] = []
    waits: dict[str, float] = {}
    engine = app.extensions["embajador"].db.engine
    parameters: dict[str, object] = {}
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, params, *_a: (
        statements.append(statement), parameters.__setitem__(statement, params),
        waits.__setitem__("started", time.perf_counter())))
    event.listen(engine, "after_cursor_execute", lambda _c, _cur, statement, *_a: waits.__setitem__(
        statement, waits.get(statement, 0.0) + time.perf_counter() - waits["started"]))
    client = app.test_client()

    def get():
        params = {"shop": SHOP, "logged_in_customer_id": SHOPPER, "path_prefix": "/apps/embajador",
                  "timestamp": str(int(time.time()))}
        response = client.get(f"/proxy/customer?{urlencode(dict(params, signature=sign_app_proxy(params, SECRET)))}")
        assert response.status_code == 200, response.status_code
    get()
    started = time.process_time()
    for _ in range(requests):
        get()
    plain_cpu = (time.process_time() - started) / requests * 1000
    statements.clear()
    waits.clear()
    profiler = cProfile.Profile(time.process_time)
    started = time.process_time()
    profiler.enable()
    for _ in range(requests):
        get()
    profiler.disable()
    cpu = (time.process_time() - started) / requests * 1000
    if dump:
        profiler.dump_stats(dump)  # e.g. python -m pstats FILE, or snakeviz
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top // 2)
    print(out.getvalue())
    print(f"in-process: {plain_cpu:.2f} ms CPU per answer ({cpu:.2f} ms under the profiler, test client "
          f"included); {len(statements) / requests:.1f} SQL statements each, wall time per statement:")
    for statement in statements[:len(statements) // requests]:
        wall = waits.get(statement, 0.0) / requests * 1000
        print(f"    {wall:6.2f} ms  {' '.join(statement.split())[:150]}")
    if explain:
        with engine.connect() as conn:
            for statement in statements[:len(statements) // requests]:
                if "ledger_entries" in statement:
                    plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters[statement]).scalars()
                    print("\n".join(f"      {line}" for line in plan))
    app.extensions["embajador"].db.dispose()


def drive(port: int, args, env: dict) -> dict:
    budget = ["--requests", str(args.requests)] if args.requests else ["--seconds", str(args.seconds)]
    warmup = (["--warmup-requests", str(args.warmup_requests)] if args.warmup_requests
              else ["--warmup-seconds", str(args.warmup_seconds)])
    command = [sys.executable, str(ROOT / "bench" / "load.py"), "--port", str(port), "--shop", SHOP,
               "--concurrency", str(args.concurrency), "--proxy-customer", SHOPPER, *budget, *warmup]
    done = subprocess.run(command, cwd=ROOT, env=child_env(dict(env, BENCH_WEBHOOK_SECRET=SECRET)),
                          capture_output=True, text=True, timeout=(args.seconds or 0) + 400)
    if done.returncode != 0:
        raise BenchError(f"load generator failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, help="measured seconds per side (default 20)")
    budget.add_argument("--requests", type=int, help="measured requests per side instead of seconds")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections (default 16)")
    parser.add_argument("--customers", type=int, help="customers in the shop (default 100000)")
    parser.add_argument("--entries", type=int, help="ledger rows of the measured shopper (default 10000)")
    parser.add_argument("--quick", action="store_true", help="small data, 300 requests per side: a CI smoke run")
    parser.add_argument("--sql", action="append", default=[], metavar="STATEMENT",
                        help="run on the scratch schema after seeding (to measure an index candidate)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="after seeding, profile N answers in-process (no gunicorn, no load) and stop")
    parser.add_argument("--profile-dump", metavar="FILE", help="with --profile: also write the cProfile stats to FILE")
    parser.add_argument("--cache-off", action="store_true", help="with --profile: the cold path (no facts cache)")
    parser.add_argument("--sides", default="bare,proxy,proxy-cold",
                        help="which servers to load, in order (default bare,proxy,proxy-cold)")
    args = parser.parse_args(argv)
    args.warmup_requests = args.warmup_seconds = None
    if args.quick:
        args.requests = args.requests or (None if args.seconds else 300)
        args.warmup_requests = 50
        args.customers, args.entries = args.customers or 2000, args.entries or 1000
    else:
        args.seconds = args.seconds or (None if args.requests else 20.0)
        args.warmup_seconds = 3.0
        args.customers, args.entries = args.customers or 100_000, args.entries or 10_000
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    logs = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    status = 2
    try:
        with scratch_schema(PG_BASE) as pg_url, redis_db(REDIS_BASE) as redis_url:
            env = app_env(pg_url, redis_url)
            app_state = prepare_app(env)
            try:
                now = datetime.now(UTC)
                expected = seed(app_state, args.customers, args.entries, now)
                if args.sql:
                    from sqlalchemy import text
                    with app_state.db.autocommit_engine.connect() as conn:  # VACUUM too
                        for statement in args.sql:
                            conn.execute(text(statement))
                progress = expected_progress(app_state, now)
                if args.profile:
                    profile_env = dict(env, PROXY_FACTS_CACHE_SIZE="0") if args.cache_off else env
                    profile_in_process(profile_env, args.profile, 45, dump=args.profile_dump)
                    status = 0  # no gunicorn ran: nothing to keep
                    return status
                results, problems = {}, []
                web_env = dict(env, DATABASE_URL=f"{pg_url}&application_name={WEB_APP_NAME}")
                sides = {"bare": ("bench.bare_app:create_app()", web_env),
                         "proxy": ("plugin:create_app()", web_env),
                         "proxy-cold": ("plugin:create_app()", dict(web_env, PROXY_FACTS_CACHE_SIZE="0"))}
                for side in args.sides.split(","):
                    spec, side_env = sides[side]
                    with gunicorn(spec, side_env, logs / f"{side}.log") as (port, master):
                        if side != "bare":
                            problems += [f"{side}: {p}" for p in check_answer(port, expected, progress)]
                        before = server_cpu(master, app_state)
                        results[side] = drive(port, args, env)
                        after = server_cpu(master, app_state)
                        if side != "bare":  # still right after thousands of answers (and cache hits)
                            problems += [f"{side} after the load: {p}" for p in check_answer(port, expected, progress)]
                    sent = results[side]["warmup"]["sent"] + results[side]["run"]["sent"]
                    results[side]["cpu_ms"] = {k: (after[k] - before[k]) * 1000 / sent for k in after}
                status = report(args, expected, results, problems)
            finally:
                app_state.db.dispose()
    except BenchError as exc:
        print(f"proxy_read bench: {exc}", file=sys.stderr)
    finally:
        if status == 0:
            shutil.rmtree(logs, ignore_errors=True)
        else:
            print(f"gunicorn logs kept in {logs}", file=sys.stderr)
    return status


def report(args, expected: dict, results: dict, problems: list[str]) -> int:
    settings = gunicorn_settings()
    budget = f"{args.requests} requests" if args.requests else f"{args.seconds:g} s"
    print(f"gunicorn.conf.py: {settings['workers']} workers x {settings['threads']} threads; "
          f"data: {args.customers} customers, {expected['entries']} ledger rows for the shopper "
          f"(+1 per other customer)")
    print(f"load: bench/load.py, {args.concurrency} keep-alive connections, {budget} per side after warm-up; "
          f"signed GET /proxy/customer for one logged-in shopper")
    print(f"{'side':8} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}")
    status = 0
    for side, result in results.items():
        run = result["run"]
        print(f"{side:8} {run['sent']:>9} {run['rps']:>8.1f} {run['p50_ms']:>8.2f} {run['p95_ms']:>8.2f} "
              f"{run['p99_ms']:>8.2f} {run['max_ms']:>8.2f} {run['errors']:>7}")
        for phase in ("warmup", "run"):
            if result[phase]["errors"]:
                print(f"ERROR {side} {phase}: {result[phase]['errors']} failed requests {result[phase]['outcomes']}")
                status = 1
    for side, result in results.items():
        ms = result["cpu_ms"]
        print(f"{side:8} server CPU per request (warm-up included): gunicorn {ms['gunicorn']:.2f} ms + "
              f"Postgres backends {ms['postgres']:.2f} ms = {ms['gunicorn'] + ms['postgres']:.2f} ms")
    for side in (s for s in results if s != "bare"):
        cpu = results[side]["cpu_ms"]["gunicorn"] + results[side]["cpu_ms"]["postgres"]
        print(f"{side}: at that CPU, {args.concurrency} clients on 2 otherwise idle cores would wait about "
              f"{args.concurrency * cpu / 2:.0f} ms per answer (closed loop: clients x CPU per answer / cores)")
    for problem in problems:
        print(f"ERROR wrong answer: {problem}")
        status = 1
    if not problems:
        print("answer checked against the ledger: points, next release, tier progress, latest activity")
    bare = results["bare"]["run"]
    measured = [s for s in ("proxy-cold", "proxy") if s in results]
    for side in measured:
        run = results[side]["run"]
        verdict = "met" if run["p99_ms"] < 50 else "NOT met"
        print(f"p99 {side} {run['p99_ms']:.1f} ms vs bare {bare['p99_ms']:.1f} ms (target: p99 < 50 ms, {verdict}); "
              f"throughput {side}/bare {run['rps'] / bare['rps']:.2f}x")
    last = results[measured[-1]]["run"]
    print(f"ratio {measured[-1]}/bare throughput: {last['rps'] / bare['rps']:.2f}x (target: p99 < 50 ms; "
          f"{measured[-1]} p99 {last['p99_ms']:.1f} ms)")
    return status


if __name__ == "__main__":
    sys.exit(main())
