"""Outbound webhook deliveries vs the smallest durable sender, same run, same receiver.

Baseline ("minimal outbox"): for each of N rows, a signed POST (HMAC-SHA256 header, a new
connection, urllib3) to a receiver on 127.0.0.1 answering 200, then one committed
``UPDATE … SET status = 'sent'`` — the least any sender that remembers what it sent must do.
Ours: N deliveries through ``plugin.outbound.delivery.deliver`` — the lease transaction (row
lock, attempt counted, next attempt moved past the backoff, secret decrypted), DNS resolution
+ address check, signature, the same kind of POST, and the answer recorded — one after
another in this process. Bare POSTs without any database are printed for scale. The sides
run interleaved in rounds of 50 (the machine is shared: its load moves during a run), and
each side's rate is its total count over its total time. Target ratio ours / minimal ≥ 0.5×
(ours commits twice per delivery — the lease before sending, the answer after — the
baseline once).

    .venv/bin/python bench/outbound.py            # 1 000 deliveries per side
    .venv/bin/python bench/outbound.py --quick    # 200 per side

Exits 0 unless a delivery was not delivered; never on speed.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch_services import PG_BASE, BenchError, scratch_schema  # noqa: E402

SHOP = "bench-outbound.myshopify.com"
ROUND = 50


class Collector:
    """Stands in for the job queue while events are written: ids only, nothing runs."""

    def __init__(self):
        self.ids: list[int] = []

    def enqueue(self, func_path: str, *args, job_id: str, timeout: int = 300, unless_waiting: bool = False) -> bool:
        self.ids.append(args[0])
        return True


def start_receiver() -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/hook"


def prepare(pg_url: str, url: str, count: int):
    from plugin import create_app
    from plugin.models import Base, Customer, utcnow
    from plugin.outbound.endpoints import register
    from plugin.outbound.outbox import emit_points_changed
    from plugin.shopify.oauth import TokenSet
    from plugin.shops.tokens import install_shop
    app = create_app({"EMBAJADOR_MODE": "test", "DATABASE_URL": pg_url, "SECRET_KEY": "bench-secret-key",
                      "ENCRYPTION_KEY": "3q6L9wF0V2b8C5kqg3Zs8bM8yG0qXcPZ3oQpI9yXbW4=", "LOG_FORMAT": "text"})
    logging.getLogger("embajador").setLevel(logging.WARNING)
    app_state = app.extensions["embajador"]
    Base.metadata.create_all(app_state.db.engine)
    collector = Collector()
    app_state.queue = collector
    now = utcnow()
    with app_state.db.transaction() as session:
        shop = install_shop(session, app_state.cipher, SHOP, TokenSet("shpat_bench", "read_orders", None), now)
        customer = Customer(shop_id=shop.id, shopify_id="7001", email="bench@example.com")
        session.add(customer)
        session.flush()
        register(session, app_state, shop.id, url, ["points.changed"], now)
    with app_state.db.transaction() as session:
        customer = session.get(Customer, customer.id)
        for n in range(count):
            emit_points_changed(session, customer, n + 1, "adjust", 10, 0, "bench", now)
    return app, collector.ids


def bare_posts(url: str, count: int, body: bytes) -> float:
    import urllib3
    secret = b"whsec_" + b"0" * 64
    started = time.perf_counter()
    for _ in range(count):
        stamp = str(int(time.time()))
        signature = hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        pool = urllib3.HTTPConnectionPool("127.0.0.1", int(url.split(":")[2].split("/")[0]), retries=False, maxsize=1)
        response = pool.urlopen("POST", "/hook", body=body, headers={
            "Content-Type": "application/json", "Embajador-Signature": f"t={stamp},v1={signature}"},
            preload_content=False)
        response.read(512)
        response.release_conn()
        pool.close()
        if response.status != 200:
            raise BenchError(f"bare POST answered {response.status}")
    return count / (time.perf_counter() - started)


def minimal_table(app, count: int) -> None:
    from sqlalchemy import text
    with app.extensions["embajador"].db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_minimal_outbox (id serial PRIMARY KEY, status text NOT NULL)"))
        conn.execute(text("INSERT INTO bench_minimal_outbox (status) SELECT 'pending' FROM generate_series(1, :n)"),
                     {"n": count})


def minimal_outbox(app, url: str, row_ids: range, body: bytes) -> float:
    """POST + one committed UPDATE per row (the baseline); returns the seconds taken."""
    import urllib3
    from sqlalchemy import text
    engine = app.extensions["embajador"].db.engine
    secret = b"whsec_" + b"0" * 64
    port = int(url.split(":")[2].split("/")[0])
    started = time.perf_counter()
    for row_id in row_ids:
        stamp = str(int(time.time()))
        signature = hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        pool = urllib3.HTTPConnectionPool("127.0.0.1", port, retries=False, maxsize=1)
        response = pool.urlopen("POST", "/hook", body=body, headers={
            "Content-Type": "application/json", "Embajador-Signature": f"t={stamp},v1={signature}"},
            preload_content=False)
        response.read(512)
        response.release_conn()
        pool.close()
        with engine.begin() as conn:
            conn.execute(text("UPDATE bench_minimal_outbox SET status = 'sent' WHERE id = :id"), {"id": row_id})
    return time.perf_counter() - started


def our_deliveries(app, ids: list[int]) -> float:
    """Our delivery of each id; returns the seconds taken."""
    from plugin.outbound.delivery import deliver
    app_state = app.extensions["embajador"]
    started = time.perf_counter()
    outcomes = [deliver(app_state, delivery_id) for delivery_id in ids]
    elapsed = time.perf_counter() - started
    if set(outcomes) != {"delivered"}:
        raise BenchError(f"not every delivery was delivered: {sorted(set(outcomes))}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    count = 200 if parser.parse_args().quick else 1000
    server, url = start_receiver()
    try:
        with scratch_schema(PG_BASE) as pg_url:
            app, ids = prepare(pg_url, url, count)
            sample = json.dumps({"id": "evt_1", "type": "points.changed", "data": {"balance": {"available": 10}}}).encode()
            bare = bare_posts(url, count, sample)
            minimal_table(app, count)
            minimal_time = ours_time = 0.0
            for start in range(0, count, ROUND):
                minimal_time += minimal_outbox(app, url, range(start + 1, min(start + ROUND, count) + 1), sample)
                ours_time += our_deliveries(app, ids[start:start + ROUND])
            minimal, ours = count / minimal_time, count / ours_time
            app.extensions["embajador"].db.dispose()
    except BenchError as exc:
        sys.exit(f"bench: {exc}")
    finally:
        server.shutdown()
    print(f"deliveries: {count} per side, receiver on 127.0.0.1, Postgres {PG_BASE.rsplit('@', 1)[-1]}")
    print(f"bare signed POSTs (no database, for scale): {bare:8.1f}/s")
    print(f"minimal outbox (POST + 1 committed UPDATE): {minimal:8.1f}/s")
    print(f"our deliveries (lease, checks, POST, record): {ours:8.1f}/s")
    print(f"ratio outbound/minimal-outbox: {ours / minimal:.2f}x (target >= 0.5x)")


if __name__ == "__main__":
    main()
