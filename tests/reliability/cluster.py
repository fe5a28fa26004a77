"""The app as the Procfile runs it, on this machine only, with faults on demand.

gunicorn (``web``) and RQ workers (``python -m plugin.jobs.worker``) against a per-run
Postgres schema; a redis-server of our own on a free port (so killing it never touches
the machine's shared one); local sinks for SendGrid and Shopify's Admin API. Every wait
is a bounded poll.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from http.server import ThreadingHTTPServer
from pathlib import Path

import redis
import requests
from sqlalchemy import create_engine, text

from plugin import create_app
from plugin.demo.fake_shopify import FakeShopify
from plugin.jobs.tick import run_tick
from plugin.models import utcnow
from tests.conftest import API_KEY, API_SECRET, base_env
from tests.e2e.processes import ROOT, free_port, gunicorn, process_env, wait_until
from tests.integration.emails.conftest import SendGridSink
from tests.integration.emails.conftest import _handler as sendgrid_handler

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fake Shopify's access lines
# application_name of every app connection: what a fault terminates. Per test process, so two
# suites sharing one Postgres (two checkouts, a CI run beside a full run) never kill each other's.
APP_NAME = f"embajador-chaos-{os.getpid()}"


def start_sendgrid_sink() -> tuple[SendGridSink, Callable[[], None]]:
    """The email tests' SendGrid sink (202 + X-Message-Id), served on 127.0.0.1."""
    sink = SendGridSink()
    server = ThreadingHTTPServer(("127.0.0.1", 0), sendgrid_handler(sink))
    sink.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
    return sink, stop


def emails_sent(sink: SendGridSink) -> list[tuple[str, str, str]]:
    """(message_id, flow, recipient) of every email SendGrid was asked to send."""
    out = []
    for request in sink.bodies():
        shared = request.get("custom_args") or {}
        for personalization in request.get("personalizations") or []:
            args = {**shared, **(personalization.get("custom_args") or {})}
            for to in personalization.get("to") or []:
                out.append((str(args.get("message_id")), str(args.get("flow")), to.get("email", "")))
    return out


class OwnRedis:
    """A redis-server of our own: killed with SIGKILL and restarted empty on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.outages: list[float] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise AssertionError("redis-server is not installed (scripts/services.sh installs nothing else)")
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        wait_until(lambda: _pings(client), timeout=15, what="our redis-server")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def outage(self, seconds: float) -> float:
        started = time.monotonic()
        self.kill()
        time.sleep(seconds)  # the fault itself: Redis stays away this long
        self.start()
        took = time.monotonic() - started
        self.outages.append(took)
        return took

    def stop(self) -> None:
        self.kill()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@dataclass
class Workers:
    """RQ workers exactly as the Procfile starts them."""

    env: dict[str, str]
    logdir: Path
    procs: list[subprocess.Popen] = field(default_factory=list)
    killed: int = 0
    exits: list[int] = field(default_factory=list)

    def start(self) -> subprocess.Popen:
        log = open(self.logdir / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([sys.executable, "-m", "plugin.jobs.worker"], cwd=ROOT, env=process_env(self.env),
                                stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def alive(self) -> list[subprocess.Popen]:
        return [p for p in self.procs if p.poll() is None]

    def sigkill_one(self) -> None:
        """SIGKILL a worker and its work horse (mid-job if it has one), then start another."""
        victim = self.alive()[0]
        _kill_tree(victim.pid)
        victim.wait(timeout=10)
        self.killed += 1
        self.start()

    def died_on_their_own(self) -> list[int]:
        return [p.returncode for p in self.procs if p.returncode not in (None, -signal.SIGKILL)]

    def stop(self) -> None:
        for proc in self.alive():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _kill_tree(proc.pid)
                proc.wait(timeout=10)


def _kill_tree(pid: int) -> None:
    for child in children(pid):
        _kill_tree(child)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in found]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def terminate_app_connections(admin_url: str) -> int:
    """pg_terminate_backend on every connection the app processes hold right now."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": APP_NAME}).all())
    finally:
        engine.dispose()


def count_app_connections(admin_url: str) -> int:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                                {"name": APP_NAME}).scalar_one()
    finally:
        engine.dispose()


class Cluster:
    """web + workers + our Redis + sinks, for one test; ``close()`` stops everything."""

    def __init__(self, pg_url: str, workdir: Path, web_workers: int = 2, rq_workers: int = 2) -> None:
        self.stack = ExitStack()
        try:
            self._start(pg_url, workdir, web_workers, rq_workers)
        except BaseException:
            self.stack.close()  # nothing we started outlives a failed start (our redis-server)
            raise

    def _start(self, pg_url: str, workdir: Path, web_workers: int, rq_workers: int) -> None:
        self.workdir = workdir
        self.redis = OwnRedis(workdir)
        self.redis.start()
        self.stack.callback(self.redis.stop)
        self.sendgrid, stop_sink = start_sendgrid_sink()
        self.stack.callback(stop_sink)
        self.shopify = FakeShopify(API_KEY, API_SECRET)
        shopify_origin, shopify_server = self.shopify.serve()
        self.stack.callback(shopify_server.shutdown)
        self.admin_url = pg_url
        app_url = f"{pg_url}&application_name={APP_NAME}"
        self.env = base_env(app_url, REDIS_URL=self.redis.url, SENDGRID_API_KEY="SG.chaos-sink",
                            SENDGRID_API_HOST=self.sendgrid.url, SENDGRID_FROM_EMAIL="club@tienda.example",
                            SHOPIFY_ADMIN_ORIGIN=shopify_origin, LOG_FORMAT="json")
        self.app = create_app(self.env)
        self.app_state = self.app.extensions["embajador"]
        self.stack.callback(self.app_state.db.dispose)
        self.web_base = self.stack.enter_context(gunicorn(self.env, workdir, workers=web_workers, timeout=120))
        self.workers = Workers(self.env, workdir)
        self.stack.callback(self.workers.stop)
        for _ in range(rq_workers):
            self.workers.start()

    def tick(self, at: datetime | None = None) -> dict:
        """One run of ``embajador tick`` (the clock process), at ``at`` (default: the clock)."""
        with self.app.app_context():
            return run_tick(self.app_state, at or utcnow())

    def post(self, session: requests.Session, body: bytes, headers: dict) -> int:
        return session.post(f"{self.web_base}/webhooks", data=body, headers=headers, timeout=10).status_code

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("*.log")))

    def close(self) -> None:
        self.stack.close()
