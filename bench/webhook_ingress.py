"""POST /webhooks under gunicorn against a bare Flask endpoint, same settings, same run.

Goal: the real ingress (verify the HMAC, store in Postgres, enqueue to RQ) keeps at least
0.5x the throughput of an endpoint that only answers 200, with p99 far under the 5 s
Shopify waits. Both run with gunicorn.conf.py (WEB_CONCURRENCY / WEB_THREADS as in
production) and are driven by bench/load.py in its own process. The ingress writes to a
scratch schema and a Redis db index of its own, both removed at the end. Exits non-zero
only when a request failed or a delivery is missing, never on speed.

    .venv/bin/python bench/webhook_ingress.py                # 5 rounds x 20 s per side, 16 connections
    .venv/bin/python bench/webhook_ingress.py --quick        # bounded smoke run for CI (< 30 s)

The sides alternate over the rounds (bare first, then ingress first, ...) and the ratio printed
last is the median of the rounds': on a shared 2-core machine one side's minute can run at
half the speed of the next, and a single pair of runs then measures the drift.
"""
from __future__ import annotations

import argparse
import json
import os
import runpy
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
SHOP = "bench-shop.myshopify.com"
SECRET = "bench-api-secret"
WEB_APP_NAME = f"embajador-bench-web-{os.getpid()}"


from scratch_services import PG_BASE, REDIS_BASE, BenchError, redis_db, scratch_schema  # noqa: E402

from tests.e2e.processes import listening_sockets  # noqa: E402


def app_env(pg_url: str, redis_url: str) -> dict:
    """Production mode: the configuration checks and JSON logs a Heroku dyno has."""
    return {"EMBAJADOR_MODE": "production", "SHOPIFY_API_KEY": "bench-api-key", "SHOPIFY_API_SECRET": SECRET,
            "SECRET_KEY": "bench-secret-key-at-least-32-characters", "ENCRYPTION_KEY": "3q6L9wF0V2b8C5kqg3Zs8bM8yG0qXcPZ3oQpI9yXbW4=",
            "DATABASE_URL": pg_url, "REDIS_URL": redis_url, "APP_URL": "https://embajador.bench"}


def prepare_app(env: dict):
    """Migrate the scratch schema and install the shop with the app's own code."""
    from plugin import create_app
    from plugin.migrations.runner import upgrade
    from plugin.models import utcnow
    from plugin.shopify.oauth import TokenSet
    from plugin.shops.tokens import install_shop
    app_state = create_app(env).extensions["embajador"]
    upgrade(app_state.db)
    with app_state.db.transaction() as session:
        install_shop(session, app_state.cipher, SHOP,
                     TokenSet(access_token="shpat_bench", scope="read_orders", expires_at=None), utcnow())
    return app_state


def child_env(env: dict) -> dict:
    merged = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPIFY_", "SENDGRID_", "DATABASE_", "REDIS_"))}
    merged.update(env, PYTHONPATH=str(ROOT))
    return merged


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(app_spec: str, env: dict, log_path: Path):
    """gunicorn -c gunicorn.conf.py as the Procfile runs it, bound to loopback only."""
    port = free_port()
    args = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", app_spec]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, cwd=ROOT, env=child_env(dict(env, PORT=str(port))),
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(proc, port, log_path)
        _wait_listening(proc, port, _listeners(env), log_path)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(proc, port: int, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"gunicorn exited: {log_path.read_text()[-500:]!r}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise BenchError(f"gunicorn did not answer /healthz within {timeout:.0f}s (log: {log_path})")


def _listeners(env: dict) -> int:
    """Listening sockets the server will have: one per worker with ``reuse_port``, else the master's."""
    with mock.patch.dict(os.environ, child_env(env), clear=True):
        conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return conf["workers"] if conf["reuse_port"] else 1


def _wait_listening(proc, port: int, wanted: int, log_path: Path, timeout: float = 30.0) -> None:
    """With ``reuse_port`` each worker binds its own socket after the fork, so /healthz answers as
    soon as the first one has: connections opened before the others bind would all land on it
    (the imbalance the setting exists to avoid). Wait for every worker's socket (LISTEN entries
    for the port in /proc/net/tcp)."""
    deadline = time.monotonic() + timeout
    while listening_sockets(port) < wanted:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise BenchError(f"gunicorn did not open {wanted} listening sockets on {port} (log: {log_path})")
        time.sleep(0.05)


def _cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), from /proc; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def server_cpu(master: int, app_state) -> dict:
    """CPU seconds so far of the gunicorn master and workers, and of the Postgres backends the
    server opened (their ``application_name`` is WEB_APP_NAME): the work a dyno and its database
    do per request, which the other engineers' load on this machine barely changes."""
    from sqlalchemy import text
    with app_state.db.engine.connect() as conn:
        backends = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                                {"n": WEB_APP_NAME}).scalars().all()
    return {"gunicorn": sum(_cpu_seconds(pid) for pid in [master, *_children(master)]),
            "postgres": sum(_cpu_seconds(pid) for pid in backends)}


def drive(port: int, args, env: dict) -> dict:
    """Run bench/load.py against ``port`` in its own process; return its JSON."""
    budget = ["--requests", str(args.requests)] if args.requests else ["--seconds", str(args.seconds)]
    warmup = (["--warmup-requests", str(args.warmup_requests)] if args.warmup_requests
              else ["--warmup-seconds", str(args.warmup_seconds)])
    command = [sys.executable, str(ROOT / "bench" / "load.py"), "--port", str(port), "--shop", SHOP,
               "--concurrency", str(args.concurrency), *budget, *warmup]
    limit = (args.seconds or 0) + (args.warmup_seconds or 0) + 300
    done = subprocess.run(command, cwd=ROOT, env=child_env(dict(env, BENCH_WEBHOOK_SECRET=SECRET)),
                          capture_output=True, text=True, timeout=limit)
    if done.returncode != 0:
        raise BenchError(f"load generator failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def stored_and_enqueued(app_state) -> tuple[int, int]:
    from sqlalchemy import func, select

    from plugin.models import WebhookDelivery
    with app_state.db.transaction() as session:
        stored = session.execute(select(func.count()).select_from(WebhookDelivery)).scalar_one()
    return stored, app_state.queue.queue.count


def gunicorn_settings() -> dict:
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return {k: conf.get(k) for k in ("workers", "threads", "keepalive", "preload_app", "accesslog")}


def print_report(args, settings: dict, rounds: list[dict], stored: int, enqueued: int) -> int:
    """Print a row per side and round, the medians and the ratio last; return the exit status."""
    budget = f"{args.requests} requests" if args.requests else f"{args.seconds:g} s"
    warmup = f"{args.warmup_requests} requests" if args.warmup_requests else f"{args.warmup_seconds:g} s"
    print(f"gunicorn.conf.py: {settings['workers']} workers x {settings['threads']} threads, keepalive "
          f"{settings['keepalive']} s, preload {settings['preload_app']}, access log {settings['accesslog'] or 'off'}")
    print(f"load: bench/load.py, own process, {args.concurrency} keep-alive connections on 127.0.0.1, "
          f"{budget} per side after {warmup} warm-up; body orders__paid.json, unique event ids; "
          f"{len(rounds)} round(s), the sides alternating (the machine's drift hits both alike)")
    print(f"{'round':5} {'side':8} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'errors':>7} {'client cpu':>10} {'server CPU ms/req (gunicorn + Postgres)':>40}")
    for number, results in enumerate(rounds, 1):
        for side, result in results.items():
            run, ms = result["run"], result["cpu_ms"]
            print(f"{number:5} {side:8} {run['sent']:>9} {run['rps']:>8.1f} {run['p50_ms']:>8.2f} {run['p95_ms']:>8.2f} "
                  f"{run['p99_ms']:>8.2f} {run['max_ms']:>8.2f} {run['errors']:>7} {run['client_cpu_pct']:>9.0f}% "
                  f"{ms['gunicorn']:>22.3f} + {ms['postgres']:.3f}")
    ratios = [r["ingress"]["run"]["rps"] / r["bare"]["run"]["rps"] for r in rounds]
    cpu_ratios = [_server_cpu(r["bare"]) / _server_cpu(r["ingress"]) for r in rounds]
    print("per round ingress/bare throughput: " + " ".join(f"{ratio:.2f}x" for ratio in ratios))
    print(f"ratio bare/ingress server CPU per request (median of rounds): {statistics.median(cpu_ratios):.2f}x "
          f"(warm-up included; less sensitive to the machine's load)")
    status = _check_deliveries(rounds, stored, enqueued)
    print(f"ingress p99 {statistics.median(r['ingress']['run']['p99_ms'] for r in rounds):.1f} ms "
          f"(median of rounds; Shopify gives up at 5000 ms)")
    print(f"ratio ingress/bare throughput: {statistics.median(ratios):.2f}x (median of {len(rounds)} round(s); "
          f"target >= 0.5x)")
    return status


def _server_cpu(result: dict) -> float:
    return result["cpu_ms"]["gunicorn"] + result["cpu_ms"]["postgres"]


def _check_deliveries(rounds: list[dict], stored: int, enqueued: int) -> int:
    status = 0
    for number, results in enumerate(rounds, 1):
        for side, result in results.items():
            for phase in ("warmup", "run"):
                run = result[phase]
                if run["errors"]:
                    print(f"ERROR round {number} {side} {phase}: {run['errors']} failed requests {run['outcomes']}")
                    status = 1
    sent = sum(r["ingress"]["warmup"]["sent"] + r["ingress"]["run"]["sent"] for r in rounds)
    verdict = "stored == sent" if stored == sent else "ERROR stored != sent"
    print(f"{verdict}: {stored} webhook_deliveries for {sent} ingress requests (warm-up included); "
          f"{enqueued} RQ jobs enqueued")
    if stored != sent or enqueued != stored:
        status = 1
    return status


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, help="measured seconds per side (default 20)")
    budget.add_argument("--requests", type=int, help="measured requests per side instead of seconds")
    parser.add_argument("--concurrency", type=int, help="keep-alive connections (default 16, --quick 8)")
    parser.add_argument("--rounds", type=int, help="rounds of both sides, alternating (default 5, --quick 1)")
    parser.add_argument("--quick", action="store_true", help="300 requests per side after 50 warm-up: a CI smoke run")
    args = parser.parse_args(argv)
    args.warmup_requests = args.warmup_seconds = None
    args.rounds = args.rounds or (1 if args.quick else 5)
    if args.quick:
        args.requests = args.requests or (None if args.seconds else 300)
        args.warmup_requests = 50
        args.concurrency = args.concurrency or 8
    else:
        args.seconds = args.seconds or (None if args.requests else 20.0)
        args.warmup_seconds = 3.0
        args.concurrency = args.concurrency or 16
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    logs = Path(tempfile.mkdtemp(prefix="bench-ingress-"))
    status = 2
    try:
        with scratch_schema(PG_BASE) as pg_url, redis_db(REDIS_BASE) as redis_url:
            env = app_env(pg_url, redis_url)
            app_state = prepare_app(env)
            try:
                rounds = []
                web_env = dict(env, DATABASE_URL=f"{pg_url}&application_name={WEB_APP_NAME}")
                sides = (("bare", "bench.bare_app:create_app()"), ("ingress", "plugin:create_app()"))
                for number in range(args.rounds):
                    results: dict = {}
                    for side, spec in (sides if number % 2 == 0 else sides[::-1]):
                        with gunicorn(spec, web_env, logs / f"{side}-{number}.log") as (port, master):
                            before = server_cpu(master, app_state)
                            results[side] = drive(port, args, env)
                            after = server_cpu(master, app_state)
                        sent = sum(run["sent"] for run in results[side].values())
                        results[side]["cpu_ms"] = {k: (after[k] - before[k]) * 1000 / sent for k in after}
                    rounds.append({side: results[side] for side, _spec in sides})
                stored, enqueued = stored_and_enqueued(app_state)
                status = print_report(args, gunicorn_settings(), rounds, stored, enqueued)
            finally:
                app_state.db.dispose()
    except BenchError as exc:
        print(f"webhook_ingress bench: {exc}", file=sys.stderr)
    finally:
        if status == 0:
            shutil.rmtree(logs, ignore_errors=True)
        else:
            print(f"gunicorn logs kept in {logs}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
