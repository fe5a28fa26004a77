"""Starting the real processes (gunicorn web, RQ worker) the way the Procfile does."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_sockets(port: int) -> int:
    """LISTEN entries (state 0A) for ``port`` in /proc/net/tcp: one per socket bound to it (with
    gunicorn's ``reuse_port``, one per worker)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for line in lines if (fields := line.split())[1].endswith(f":{port:04X}") and fields[3] == "0A")


def process_env(env: dict) -> dict:
    merged = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPIFY_", "SENDGRID_", "DATABASE_", "REDIS_"))}
    merged.update(env)
    merged["PYTHONPATH"] = str(ROOT)
    return merged


def wait_until(condition, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll a condition a real process will make true; fail loudly after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextmanager
def running(args: list[str], env: dict, log_path: Path):
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, cwd=ROOT, env=process_env(env), stdout=log, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def gunicorn(env: dict, tmp_path: Path, workers: int = 2, access_log: bool = False, timeout: float = 30.0):
    port = free_port()
    env = dict(env, PORT=str(port), WEB_CONCURRENCY=str(workers), ACCESS_LOG="1" if access_log else "0")
    with running([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "plugin:create_app()"], env,
                 tmp_path / "gunicorn.log") as proc:
        base = f"http://127.0.0.1:{port}"

        def healthy():
            if proc.poll() is not None:
                raise AssertionError((tmp_path / "gunicorn.log").read_text()[-2000:])
            try:
                return requests.get(f"{base}/healthz", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False
        wait_until(healthy, timeout=timeout, what="gunicorn /healthz")
        yield base


@contextmanager
def rq_worker(env: dict, tmp_path: Path):
    with running([sys.executable, "-m", "plugin.jobs.worker"], env, tmp_path / "worker.log") as proc:
        yield proc
