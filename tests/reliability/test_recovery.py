"""Nothing lost for good: a dead delivery can be retried by the operator, a job killed with
its Postgres connection says why on the row and in the log, and a worker rides out a Redis
outage instead of exiting."""
from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select, text

from plugin import create_app
from plugin.cli import embajador
from plugin.jobs.worker import work_until_stopped
from plugin.logs import JsonFormatter
from plugin.models import Customer, WebhookDelivery
from tests.conftest import _truncate_all, base_env
from tests.e2e.processes import ROOT, process_env, wait_until
from tests.integration.conftest import add_shop
from tests.reliability.cluster import OwnRedis
from tests.shopify_requests import fixture_body, post_webhook
from webhooks.processing import process_delivery


def _delivery(app_state) -> WebhookDelivery:
    with app_state.db.transaction() as session:
        return session.execute(select(WebhookDelivery)).scalar_one()


def _make_dead(app_state, error: str) -> int:
    with app_state.db.transaction() as session:
        row = session.execute(select(WebhookDelivery)).scalar_one()
        row.status, row.attempts, row.last_error = "dead", 8, error
        return row.id


@pytest.fixture
def stored_customer_create(app, app_state, monkeypatch):
    """customers/create stored, but its first processing attempts all failed (dead)."""
    import webhooks.handlers.customers_create as handler
    add_shop(app_state)
    original = handler.handle
    monkeypatch.setattr(handler, "handle", lambda ctx: (_ for _ in ()).throw(RuntimeError("partner API down")))
    post_webhook(app.test_client(), "customers/create", fixture_body("customers__create.json"))
    monkeypatch.setattr(handler, "handle", original)
    return _make_dead(app_state, "RuntimeError: partner API down")


def test_inbox_retry_by_id_shows_the_reason_first_and_processes_the_dead_delivery(app, app_state,
                                                                                   stored_customer_create):
    result = app.test_cli_runner().invoke(embajador, ["inbox", "retry", "--id", str(stored_customer_create)])

    assert result.exit_code == 0, result.output
    first, *rest = result.output.splitlines()
    assert "dead" in first and "RuntimeError: partner API down" in first
    assert rest[-1] == "1 deliveries queued again"
    row = _delivery(app_state)
    assert row.status == "processed" and row.attempts == 1
    with app_state.db.transaction() as session:
        assert session.execute(select(Customer.email)).scalars().all() == ["bob@biller.com"]


def test_inbox_retry_by_status_and_refusals(app, app_state, stored_customer_create):
    runner = app.test_cli_runner()
    assert runner.invoke(embajador, ["inbox", "retry", "--status", "dead"]).exit_code == 0
    assert _delivery(app_state).status == "processed"

    again = runner.invoke(embajador, ["inbox", "retry", "--id", str(stored_customer_create)])
    assert again.exit_code == 1 and "not retried: it is processed" in again.output
    both = runner.invoke(embajador, ["inbox", "retry"])
    assert both.exit_code == 2 and "exactly one of --id N or --status dead" in both.output
    missing = runner.invoke(embajador, ["inbox", "retry", "--id", "999999"])
    assert missing.exit_code == 1 and "no delivery 999999" in missing.output
    listing = runner.invoke(embajador, ["inbox", "--status", "processed"])
    assert listing.exit_code == 0 and "customers/create" in listing.output
    with app_state.db.transaction() as session:
        assert len(session.execute(select(Customer)).scalars().all()) == 1


def test_a_job_whose_postgres_connection_is_terminated_records_class_and_message(app, app_state, monkeypatch):
    import webhooks.handlers.customers_create as handler
    add_shop(app_state)
    with app_state.db.transaction() as session:
        session.add(WebhookDelivery(shop_domain="embajador-test.myshopify.com", shop_id=1, topic="customers/create",
                                    dedupe_key="event:x", payload=fixture_body("customers__create.json").decode(),
                                    status="pending"))

    def killed(ctx):  # the connection dies under the handler, as with pg_terminate_backend
        ctx.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
    monkeypatch.setattr(handler, "handle", killed)
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(JsonFormatter())
    logging.getLogger("embajador").addHandler(capture)
    try:
        status = process_delivery(app_state, _delivery(app_state).id)
    finally:
        logging.getLogger("embajador").removeHandler(capture)

    row = _delivery(app_state)
    assert status == "pending" and row.status == "pending" and row.attempts == 1
    assert row.last_error.startswith("AdminShutdown: terminating connection due to administrator command")
    logged = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any("AdminShutdown: terminating connection" in line["msg"] and line["delivery_id"] == row.id
               for line in logged), logged
    assert "bob@biller.com" not in stream.getvalue()


def test_worker_loop_waits_and_reconnects_instead_of_exiting():
    runs, waits = [], []

    def work_once():
        runs.append(1)
        if len(runs) < 4:
            raise RedisConnectionError("Connection refused")
    assert work_until_stopped(work_once, sleep=waits.append) == 3
    assert waits == [0.5, 1.0, 2.0]
    with pytest.raises(RedisConnectionError):
        work_until_stopped(lambda: (_ for _ in ()).throw(RedisConnectionError("down")), sleep=waits.append,
                           max_outages=2)


def test_worker_process_survives_redis_restarting_empty_and_keeps_working(migrated, pg_url, tmp_path):
    own = OwnRedis(tmp_path)
    own.start()
    env = base_env(pg_url, REDIS_URL=own.url)
    app = create_app(env)
    app_state = app.extensions["embajador"]
    _truncate_all(app_state.db)
    add_shop(app_state)
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen([sys.executable, "-m", "plugin.jobs.worker"], cwd=ROOT, env=process_env(env),
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: b"started with PID" in (tmp_path / "worker.log").read_bytes(), timeout=60,
                   what="the worker to start")
        own.outage(3.0)
        with app.app_context():
            assert post_webhook(app.test_client(), "customers/create",
                                fixture_body("customers__create.json")).status_code == 200
        wait_until(lambda: _delivery(app_state).status == "processed", timeout=90,
                   what="the worker to reconnect and process the delivery")
        # Alive and working. (Whether RQ's own dequeue retry or our reconnect loop rode the
        # outage out depends on where the outage caught the worker; the loop is tested above.)
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
        own.stop()
        app_state.db.dispose()
