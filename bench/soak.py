"""Soak: steady webhook traffic at 70 % of the drain rate two Procfile workers reach,
measured in the same run; queue lag, RSS of web and workers, and Postgres connections
sampled all along, with the slope of each printed (per minute).

    .venv/bin/python bench/soak.py --seconds 600      # the full run (make reliability SCALE=full)

Exits 1 when the backlog does not drain after the traffic stops or connections keep
growing (a leak); speed itself is reported, never judged.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from rq import Queue
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch_services import PG_BASE, BenchError, scratch_schema  # noqa: E402
from plugin import create_app  # noqa: E402
from plugin.jobs.queue import QUEUE_NAME  # noqa: E402
from plugin.models import Base, WebhookDelivery  # noqa: E402
from plugin.models.inbox import PENDING  # noqa: E402
from tests.conftest import base_env  # noqa: E402
from tests.reliability.cluster import Cluster, children, count_app_connections, rss_kib  # noqa: E402
from tests.reliability.history import chaos_program, generate  # noqa: E402
from tests.reliability.replay import install  # noqa: E402
from tests.shopify_requests import webhook_headers  # noqa: E402

DOMAIN = "soak.myshopify.com"


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) samples, per minute."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in samples) / var if var else 0.0


def pending(cluster: Cluster) -> int:
    with cluster.app_state.db.transaction() as session:
        return session.execute(select(func.count()).select_from(WebhookDelivery)
                               .where(WebhookDelivery.status == PENDING)).scalar_one()


def bodies(start: int, count: int):
    history = generate(customers=count, orders_per_customer=0, seed=start, tag=f"s{start}")
    for event in history.events:
        if event.topic == "customers/create":
            yield event


def queued_jobs(cluster: Cluster) -> int:
    return Queue(QUEUE_NAME, connection=cluster.app_state.queue.connection).count


def measure_drain_rate(cluster: Cluster, session: requests.Session, count: int) -> float:
    """Deliveries per second two workers finish: a burst stored, then timed until settled —
    every delivery processed and the jobs they started (metafield syncs) done too, or the
    soak would be paced by a rate that leaves that work behind (the lag then only grows)."""
    started = time.monotonic()
    for event in bodies(1, count):
        body = event.body()
        cluster.post(session, body, webhook_headers(body, event.topic, shop=DOMAIN, event_id=event.event_id))
    deadline = time.monotonic() + 600
    while (pending(cluster) or queued_jobs(cluster)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return count / (time.monotonic() - started)


def web_and_worker_pids() -> list[int]:
    """gunicorn master and its workers, and the RQ worker processes (not their short-lived horses)."""
    pids = []
    for pid in children(os.getpid()):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"gunicorn" in cmd:
            pids += [pid, *children(pid)]
        elif b"plugin.jobs.worker" in cmd:
            pids.append(pid)
    return pids


def soak(seconds: int, burst: int) -> int:
    with scratch_schema(PG_BASE) as pg_url, tempfile.TemporaryDirectory() as workdir:
        Base.metadata.create_all(create_app(base_env(pg_url)).extensions["embajador"].db.engine)
        cluster = Cluster(pg_url, Path(workdir))
        try:
            install(cluster, DOMAIN, chaos_program())
            session = requests.Session()
            rate = measure_drain_rate(cluster, session, burst)
            target = 0.7 * rate
            print(f"drain rate of 2 workers: {rate:.1f} deliveries/s; soak traffic: {target:.1f}/s for {seconds} s")
            pids = web_and_worker_pids()
            lag, rss, conns = [], {pid: [] for pid in pids}, []
            stop = threading.Event()

            def sample():
                t0 = time.monotonic()
                while not stop.wait(5):
                    t = time.monotonic() - t0
                    lag.append((t, pending(cluster)))
                    conns.append((t, count_app_connections(cluster.admin_url)))
                    for pid in pids:
                        try:
                            rss[pid].append((t, rss_kib(pid) / 1024))
                        except OSError:
                            pass
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            sent, started, n = 0, time.monotonic(), 1000
            while time.monotonic() - started < seconds:
                for event in bodies(n, 20):
                    due = started + sent / target
                    time.sleep(max(0.0, due - time.monotonic()))
                    body = event.body()
                    cluster.post(session, body, webhook_headers(body, event.topic, shop=DOMAIN,
                                                                event_id=event.event_id))
                    sent += 1
                n += 20
            stop.set()
            sampler.join(timeout=30)
            drained_by = time.monotonic() + 300
            while pending(cluster) and time.monotonic() < drained_by:
                time.sleep(1)
            left = pending(cluster)
            print(f"sent {sent} deliveries in {time.monotonic() - started:.0f} s; still pending after the traffic: {left}")
            print(f"queue lag (pending rows): max {max((v for _, v in lag), default=0)}, "
                  f"slope {slope_per_minute(lag):+.2f}/min")
            for pid, samples in rss.items():
                if samples:
                    print(f"RSS pid {pid}: {samples[0][1]:.1f} → {samples[-1][1]:.1f} MiB, "
                          f"slope {slope_per_minute(samples):+.3f} MiB/min")
            print(f"Postgres connections of the app: {conns[0][1] if conns else 0} → {conns[-1][1] if conns else 0},"
                  f" slope {slope_per_minute(conns):+.2f}/min")
            leak = slope_per_minute(conns) > 1.0
            return 1 if left or leak else 0
        finally:
            cluster.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--burst", type=int, default=200, help="deliveries for the drain-rate measurement")
    args = parser.parse_args()
    try:
        return soak(args.seconds, args.burst)
    except BenchError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
