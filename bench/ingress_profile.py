"""Where one webhook delivery's CPU goes: POST /webhooks in-process, beside the bare endpoint.

The noise-robust half of bench/webhook_ingress.py: both apps are called through plain WSGI
(no HTTP, no test client) in this one process, alternating rounds so the machine's load hits
both alike, against the real Postgres (scratch schema, ``synchronous_commit`` on) and Redis
(own db index). It reports, per request:

* CPU of this process (``time.process_time``: what a gunicorn worker thread spends), ingress
  and bare, best round and median round;
* CPU of the Postgres backends serving the app (``/proc/<pid>/stat`` of the backends whose
  ``application_name`` is this bench's), which share the same cores in production;
* SQL statements and Redis round trips (counted on the driver), and
* with ``--profile``, the top of a cProfile of the ingress rounds.

    .venv/bin/python bench/ingress_profile.py                    # 6 rounds x 500 requests
    .venv/bin/python bench/ingress_profile.py --profile 25       # + the 25 costliest functions
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bare_app import create_app as create_bare_app  # noqa: E402
from scratch_services import PG_BASE, REDIS_BASE, BenchError, redis_db, scratch_schema  # noqa: E402
from webhook_ingress import SECRET, SHOP, app_env, prepare_app  # noqa: E402

from plugin.shopify.signatures import sign_webhook  # noqa: E402

FIXTURE = ROOT.parent / "shared" / "fixtures" / "shopify" / "webhooks" / "orders__paid.json"
APP_NAME = f"embajador-profile-{os.getpid()}"


def environ_factory(body: bytes):
    """The WSGI environ gunicorn would hand the app for one signed orders/paid delivery."""
    base = {"REQUEST_METHOD": "POST", "PATH_INFO": "/webhooks", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": True,
            "wsgi.multiprocess": True, "wsgi.run_once": False, "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_X_SHOPIFY_HMAC_SHA256": sign_webhook(body, SECRET), "HTTP_X_SHOPIFY_TOPIC": "orders/paid",
            "HTTP_X_SHOPIFY_SHOP_DOMAIN": SHOP, "HTTP_X_SHOPIFY_API_VERSION": "2025-10",
            "HTTP_X_SHOPIFY_TRIGGERED_AT": "2026-11-23T10:00:00.000Z"}
    run = uuid.uuid4().hex[:10]

    def make(n: int) -> dict:
        return dict(base, **{"wsgi.input": io.BytesIO(body), "HTTP_X_SHOPIFY_EVENT_ID": f"{run}-{n}",
                             "HTTP_X_SHOPIFY_WEBHOOK_ID": f"{run}-{n}-w"})
    return make


def call(app, environ: dict) -> str:
    status = []

    def start_response(s, headers, exc_info=None):
        status.append(s)
    result = app(environ, start_response)
    try:
        for _chunk in result:
            pass
    finally:
        if hasattr(result, "close"):
            result.close()
    return status[0]


def run_requests(app, environs: list[dict], threads: int) -> list[str]:
    """Every request once, over ``threads`` threads (1: in this thread)."""
    if threads == 1:
        return [call(app, environ) for environ in environs]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda environ: call(app, environ), environs))


class Counters:
    """SQL statements (every psycopg ``Cursor.execute``, SQLAlchemy's included) and Redis round trips."""

    def __init__(self):
        import psycopg
        from redis.connection import Connection
        self.sql = self.redis = 0
        counters = self
        execute = psycopg.Cursor.execute

        def counted_execute(cursor, *args, **kwargs):
            counters.sql += 1
            return execute(cursor, *args, **kwargs)
        psycopg.Cursor.execute = counted_execute  # type: ignore[method-assign]  # SQLAlchemy's calls too
        original = Connection.send_packed_command

        def send_packed_command(conn, command, check_health=True):
            counters.redis += 1
            return original(conn, command, check_health)
        Connection.send_packed_command = send_packed_command  # type: ignore[method-assign]


@contextmanager
def quiet_stderr():
    """The app's JSON log lines are written (that cost is real) to /dev/null, not the terminal."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def backend_cpu_seconds(app_state) -> float:
    """utime+stime of the Postgres backends connected with this bench's application_name."""
    from sqlalchemy import text
    with app_state.db.engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                            {"n": APP_NAME}).scalars().all()
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=500, help="requests per round and side")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the N costliest functions")
    parser.add_argument("--threads", type=int, default=1,
                        help="request threads calling the app at once, like gunicorn's gthread (group commit)")
    parser.add_argument("--sql", action="append", default=[], metavar="STATEMENT",
                        help="run on the scratch schema after migrating (to measure a schema candidate)")
    args = parser.parse_args(argv)
    body = FIXTURE.read_bytes()
    try:
        with scratch_schema(PG_BASE) as pg_url, redis_db(REDIS_BASE) as redis_url:
            env = app_env(f"{pg_url}&application_name={APP_NAME}", redis_url)
            os.environ.update({k: v for k, v in env.items()})  # the app reads the same env gunicorn would
            app_state = prepare_app(env)
            if args.sql:
                from sqlalchemy import text
                with app_state.db.engine.begin() as conn:
                    for statement in args.sql:
                        conn.execute(text(statement))
            from plugin import create_app
            ingress = create_app(env)
            bare = create_bare_app()
            make = environ_factory(body)
            counters = Counters()
            profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not wall time
            cpu: dict[str, list[float]] = {"bare": [], "ingress": []}
            backend: list[float] = []
            n = 0
            with quiet_stderr():
                for _ in range(20):  # warm-up: pool, statement caches, imports
                    n += 1
                    call(ingress, make(n))
                    call(bare, make(n))
                sql0, redis0 = counters.sql, counters.redis
                for round_no in range(args.rounds):
                    order = ("bare", "ingress") if round_no % 2 == 0 else ("ingress", "bare")
                    for side in order:
                        app = bare if side == "bare" else ingress
                        before_backend = backend_cpu_seconds(app_state) if side == "ingress" else 0.0
                        if profiler and side == "ingress":
                            profiler.enable()
                        environs = [make(n + i) for i in range(1, args.requests + 1)]
                        n += args.requests
                        started = time.process_time()
                        statuses = run_requests(app, environs, args.threads)
                        if any(not status.startswith("200") for status in statuses):
                            raise BenchError(f"{side} answered {set(statuses)}")
                        cpu[side].append((time.process_time() - started) / args.requests * 1000)
                        if profiler and side == "ingress":
                            profiler.disable()
                        if side == "ingress":
                            backend.append((backend_cpu_seconds(app_state) - before_backend) / args.requests * 1000)
            measured = args.rounds * args.requests
            sql_per, redis_per = (counters.sql - sql0) / measured, (counters.redis - redis0) / measured
            app_state.db.dispose()
            ingress.extensions["embajador"].db.dispose()
    except BenchError as exc:
        print(f"ingress_profile: {exc}", file=sys.stderr)
        return 2
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.profile)
        print(out.getvalue())
    print(f"{args.rounds} rounds x {args.requests} requests per side, alternating, {args.threads} thread(s); "
          f"orders__paid.json (12 kB)")
    for side in ("bare", "ingress"):
        print(f"{side:8} CPU ms/request in the app process: best {min(cpu[side]):.3f}, "
              f"median {statistics.median(cpu[side]):.3f}, rounds {' '.join(f'{v:.3f}' for v in cpu[side])}")
    print(f"ingress  Postgres backend CPU ms/request: median {statistics.median(backend):.3f} "
          f"(rounds {' '.join(f'{v:.3f}' for v in backend)})")
    print(f"ingress  per request: {sql_per:.2f} SQL statements, {redis_per:.2f} Redis round trips")
    ratio = statistics.median(cpu["bare"]) / statistics.median(cpu["ingress"])
    print(f"ratio bare/ingress CPU per request (app process, median): {ratio:.2f}x (the throughput ratio "
          f"this alone would allow; target >= 0.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
