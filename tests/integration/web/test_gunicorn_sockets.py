"""How the Procfile's gunicorn listens (gunicorn.conf.py ``reuse_port``): in production each
worker has a socket of its own, so the kernel spreads connections over the workers; elsewhere the
workers share the master's, so a second server started on a taken port fails at once instead of
quietly serving beside the first. The app behind gunicorn does not matter here: the bare bench
app keeps these tests free of production secrets."""
from __future__ import annotations

import pytest
import requests

from tests.e2e.processes import BIN, free_port, listening_sockets, running, wait_until

BARE_APP = "bench.bare_app:create_app()"


def server_env(port: int, mode: str, **extra: str) -> dict:
    return {"PORT": str(port), "EMBAJADOR_MODE": mode, "WEB_CONCURRENCY": "2", "ACCESS_LOG": "0",
            "DYNO": "", "REUSE_PORT": "", **extra}


def answering(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.mark.parametrize(("extra", "sockets"), [({}, 2), ({"REUSE_PORT": "0"}, 1)])
def test_in_production_each_worker_listens_on_a_socket_of_its_own(tmp_path, extra, sockets):
    port = free_port()
    args = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", BARE_APP]
    with running(args, server_env(port, "production", **extra), tmp_path / "gunicorn.log"):
        wait_until(lambda: answering(port), what="gunicorn /healthz")
        wait_until(lambda: listening_sockets(port) >= sockets, what=f"{sockets} listening sockets")
        assert listening_sockets(port) == sockets


def test_outside_production_a_second_server_on_the_same_port_fails_instead_of_sharing_it(tmp_path):
    port = free_port()
    args = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", BARE_APP]
    with running(args, server_env(port, "demo"), tmp_path / "first.log"):
        wait_until(lambda: answering(port), what="gunicorn /healthz")
        assert listening_sockets(port) == 1  # the master's, shared by both workers
        with running(args, server_env(port, "demo"), tmp_path / "second.log") as second:
            wait_until(lambda: second.poll() is not None, what="the second gunicorn to give up")
        assert second.returncode != 0
        assert "Address already in use" in (tmp_path / "second.log").read_text()
        assert answering(port)  # the first one still serves, alone
