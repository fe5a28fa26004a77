"""Closed-loop webhook load from its own process, so the client never shares a GIL with the server.

N keep-alive connections on 127.0.0.1 each send one signed ``orders/paid`` delivery, wait for
the answer, and send the next; a run stops after a fixed number of requests or seconds. Every
request carries Shopify's HMAC of the (fixed) body and a unique ``X-Shopify-Event-Id``, so the
real ingress stores each one. Raw HTTP/1.1 over asyncio streams keeps the client cheap enough
not to be the bottleneck on a small machine. Prints one JSON object on stdout.

    python bench/load.py --port 5000 --concurrency 16 --seconds 20 --warmup-seconds 3
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugin.shopify.signatures import sign_app_proxy, sign_webhook  # noqa: E402

FIXTURE = ROOT.parent / "shared" / "fixtures" / "shopify" / "webhooks" / "orders__paid.json"
REQUEST_TIMEOUT = 10.0


class Budget:
    """Hands out request numbers until the count or the deadline is used up."""

    def __init__(self, requests: int | None = None, seconds: float | None = None):
        if not requests and not seconds:
            raise ValueError("a budget needs requests or seconds")
        self.left = requests
        self.deadline = time.monotonic() + seconds if seconds and not requests else None
        self.taken = 0

    def take(self) -> int | None:
        if self.left is not None:
            if self.left <= 0:
                return None
            self.left -= 1
        elif time.monotonic() >= self.deadline:
            return None
        self.taken += 1
        return self.taken


def request_factory(port: int, shop: str, secret: str, body: bytes, run_id: str):
    """Bytes of request ``n`` of phase ``phase``: same body and HMAC, unique event and webhook ids."""
    head = (f"POST /webhooks HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nX-Shopify-Hmac-Sha256: {sign_webhook(body, secret)}\r\n"
            f"X-Shopify-Topic: orders/paid\r\nX-Shopify-Shop-Domain: {shop}\r\n"
            "X-Shopify-API-Version: 2025-10\r\nX-Shopify-Triggered-At: 2026-11-23T10:00:00.000Z\r\n")

    def make(phase: str, n: int) -> bytes:
        ids = f"X-Shopify-Event-Id: {run_id}-{phase}-{n}\r\nX-Shopify-Webhook-Id: {run_id}-{phase}-{n}-w\r\n\r\n"
        return (head + ids).encode("ascii") + body
    return make


def proxy_request_factory(port: int, shop: str, secret: str, customer_id: str):
    """``GET /proxy/customer`` as Shopify's App Proxy forwards it for a logged-in shopper: the
    query signed with the app secret, its timestamp refreshed every second (the app accepts
    90 s), so a run of any length stays fresh."""
    cache: dict[int, bytes] = {}

    def make(_phase: str, _n: int) -> bytes:
        now = int(time.time())
        if now not in cache:
            params = {"shop": shop, "logged_in_customer_id": customer_id, "path_prefix": "/apps/embajador",
                      "timestamp": str(now)}
            query = urlencode(dict(params, signature=sign_app_proxy(params, secret)))
            cache.clear()
            cache[now] = (f"GET /proxy/customer?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                          "Accept: application/json\r\n\r\n").encode("ascii")
        return cache[now]
    return make


async def exchange(reader, writer, payload: bytes) -> tuple[int, bool]:
    """Send one request, read one response; return (status, connection may be reused)."""
    writer.write(payload)
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
    if "content-length" not in headers:
        raise ValueError("response without Content-Length")
    await reader.readexactly(int(headers["content-length"]))
    return status, headers.get("connection", "").lower() != "close"


async def connection_loop(port: int, budget: Budget, make, phase: str, latencies: list, outcomes: Counter):
    conn = None
    while (n := budget.take()) is not None:
        payload = make(phase, n)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                if conn is None:
                    conn = await asyncio.open_connection("127.0.0.1", port)
                status, reusable = await exchange(*conn, payload)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            outcomes[type(exc).__name__] += 1
            conn = close(conn)
            continue
        latencies.append((time.perf_counter() - started) * 1000.0)
        outcomes[str(status)] += 1
        if not reusable:
            conn = close(conn)
    close(conn)


def close(conn):
    if conn is not None:
        conn[1].close()
    return None


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile (no interpolation: every value reported was really measured)."""
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(p / 100.0 * len(sorted_values)) - 1)]


async def run_phase(port: int, concurrency: int, budget: Budget, make, phase: str) -> dict:
    latencies: list[float] = []
    outcomes: Counter = Counter()
    cpu_before, started = _cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(connection_loop(port, budget, make, phase, latencies, outcomes)
                           for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    sent = sum(outcomes.values())
    ok = sum(count for key, count in outcomes.items() if key.isdigit() and 200 <= int(key) < 300)
    return {"sent": sent, "ok": ok, "errors": sent - ok, "outcomes": dict(outcomes),
            "elapsed_s": round(elapsed, 3), "rps": round(sent / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(percentile(latencies, 50), 2), "p95_ms": round(percentile(latencies, 95), 2),
            "p99_ms": round(percentile(latencies, 99), 2), "max_ms": round(latencies[-1], 2) if latencies else None,
            "client_cpu_pct": round(100.0 * (_cpu_seconds() - cpu_before) / elapsed, 1) if elapsed else 0.0}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main_async(args) -> dict:
    secret = os.environ["BENCH_WEBHOOK_SECRET"]
    if args.proxy_customer:
        make = proxy_request_factory(args.port, args.shop, secret, args.proxy_customer)
    else:
        make = request_factory(args.port, args.shop, secret, FIXTURE.read_bytes(), args.run_id)
    warmup = await run_phase(args.port, args.concurrency,
                             Budget(args.warmup_requests, args.warmup_seconds), make, "warmup")
    measured = await run_phase(args.port, args.concurrency, Budget(args.requests, args.seconds), make, "run")
    return {"warmup": warmup, "run": measured}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--shop", default="bench-shop.myshopify.com")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--warmup-seconds", type=float, default=None)
    parser.add_argument("--warmup-requests", type=int, default=None)
    parser.add_argument("--run-id", default=uuid.uuid4().hex[:12])
    parser.add_argument("--proxy-customer", metavar="SHOPIFY_ID",
                        help="send signed App Proxy GET /proxy/customer for this shopper instead of webhooks")
    args = parser.parse_args(argv)
    if not (args.seconds or args.requests) or not (args.warmup_seconds or args.warmup_requests):
        parser.error("give --seconds or --requests, and --warmup-seconds or --warmup-requests")
    return args


if __name__ == "__main__":
    if "BENCH_WEBHOOK_SECRET" not in os.environ:
        sys.exit("load: BENCH_WEBHOOK_SECRET must hold the app's Shopify API secret")
    print(json.dumps(asyncio.run(main_async(parse_args()))))
