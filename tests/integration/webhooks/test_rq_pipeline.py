"""Webhooks through the real Redis/RQ transport, and what happens when Redis is lost."""
from __future__ import annotations

from datetime import timedelta

from rq import Queue
from sqlalchemy import select

from plugin import create_app
from plugin.jobs.queue import QUEUE_NAME
from plugin.models import Customer, WebhookDelivery, utcnow
from tests.conftest import base_env
from tests.integration.conftest import add_shop, run_worker
from tests.shopify_requests import fixture_body, post_webhook
from webhooks.sweeper import sweep_inbox


def statuses(app_state):
    with app_state.db.transaction() as session:
        return session.execute(select(WebhookDelivery.status).order_by(WebhookDelivery.id)).scalars().all()


def customer_emails(app_state):
    with app_state.db.transaction() as session:
        return session.execute(select(Customer.email)).scalars().all()


def test_delivery_waits_in_redis_until_a_worker_runs_it(rq_app):
    app_state = rq_app.extensions["embajador"]
    add_shop(app_state)
    response = post_webhook(rq_app.test_client(), "customers/create", fixture_body("customers__create.json"))
    assert response.status_code == 200
    assert statuses(app_state) == ["pending"] and customer_emails(app_state) == []
    assert Queue(QUEUE_NAME, connection=app_state.queue.connection).count == 1
    run_worker(app_state)
    assert statuses(app_state) == ["processed"]
    assert customer_emails(app_state) == ["bob@biller.com"]


def test_running_the_same_job_twice_applies_it_once(rq_app):
    app_state = rq_app.extensions["embajador"]
    add_shop(app_state)
    post_webhook(rq_app.test_client(), "customers/create", fixture_body("customers__create.json"))
    with app_state.db.transaction() as session:
        delivery_id = session.execute(select(WebhookDelivery.id)).scalar_one()
    app_state.queue.enqueue("webhooks.processing.process_delivery_job", delivery_id, job_id="duplicate-copy")
    run_worker(app_state)
    assert customer_emails(app_state) == ["bob@biller.com"]
    assert statuses(app_state) == ["processed"]


def test_redis_down_at_ingress_still_stores_and_the_sweeper_delivers_later(pg_url, redis_url, rq_app):
    app_state = rq_app.extensions["embajador"]
    add_shop(app_state)
    dead_redis_app = create_app(base_env(pg_url, REDIS_URL="redis://127.0.0.1:6399/0"))
    with dead_redis_app.app_context():
        response = post_webhook(dead_redis_app.test_client(), "customers/create",
                                fixture_body("customers__create.json"))
    dead_redis_app.extensions["embajador"].db.dispose()
    assert response.status_code == 200
    assert statuses(app_state) == ["pending"]
    assert Queue(QUEUE_NAME, connection=app_state.queue.connection).count == 0

    assert sweep_inbox(app_state, utcnow())["redelivered"] == 0  # not overdue yet
    assert sweep_inbox(app_state, utcnow() + timedelta(minutes=3))["redelivered"] == 1
    run_worker(app_state)
    assert statuses(app_state) == ["processed"]
    assert customer_emails(app_state) == ["bob@biller.com"]


def test_sweeping_a_backlog_adds_no_copies_of_a_delivery_still_waiting(rq_app):
    """A row can wait behind a backlog longer than SWEEP_AFTER: each sweep must not push another
    copy of its job in front of new work (the full chaos replay's list held 15,204 such jobs)."""
    app_state = rq_app.extensions["embajador"]
    add_shop(app_state)
    post_webhook(rq_app.test_client(), "customers/create", fixture_body("customers__create.json"))
    queue = Queue(QUEUE_NAME, connection=app_state.queue.connection)
    assert queue.count == 1
    for minutes in (3, 6, 9):
        assert sweep_inbox(app_state, utcnow() + timedelta(minutes=minutes))["redelivered"] == 1
    assert queue.count == 1
    run_worker(app_state)
    assert statuses(app_state) == ["processed"]
    assert customer_emails(app_state) == ["bob@biller.com"]


def test_failing_handler_is_retried_with_backoff_then_dead_lettered(rq_app, monkeypatch):
    import webhooks.handlers.customers_create as handler
    from webhooks.processing import MAX_ATTEMPTS
    app_state = rq_app.extensions["embajador"]
    add_shop(app_state)

    def broken(ctx):
        raise RuntimeError("database of a partner is down")
    monkeypatch.setattr(handler, "handle", broken)
    post_webhook(rq_app.test_client(), "customers/create", fixture_body("customers__create.json"))
    run_worker(app_state)
    with app_state.db.transaction() as session:
        delivery = session.execute(select(WebhookDelivery)).scalar_one()
        assert delivery.status == "pending" and delivery.attempts == 1
        assert "RuntimeError: database of a partner is down" in delivery.last_error
        next_attempt = delivery.next_attempt_at
    now = next_attempt
    for _ in range(MAX_ATTEMPTS - 1):
        now = now + timedelta(hours=5)
        sweep_inbox(app_state, now)
        run_worker(app_state)
    with app_state.db.transaction() as session:
        delivery = session.execute(select(WebhookDelivery)).scalar_one()
        assert delivery.status == "dead" and delivery.attempts == MAX_ATTEMPTS
    assert customer_emails(app_state) == []


def test_an_enqueued_job_is_the_hash_rq_itself_writes(rq_app):
    """The queue writes RQ's job hash without building a Job per call (bench/RESULTS.md):
    RQ must read it back exactly as the one its own enqueue_call writes, field for field."""
    from rq.job import Job

    from plugin.jobs.queue import JOB_OPTIONS
    app_state = rq_app.extensions["embajador"]
    connection = app_state.queue.connection
    for n in (1, 2):  # the first builds the template with RQ, the second copies it
        assert app_state.queue.enqueue("webhooks.processing.process_delivery_job", 40 + n, job_id=f"ours-{n}")
    Queue(QUEUE_NAME, connection=connection).enqueue_call(
        "webhooks.processing.process_delivery_job", args=(42,), job_id="rqs", **JOB_OPTIONS)
    ours, theirs = Job.fetch("ours-2", connection=connection), Job.fetch("rqs", connection=connection)
    for attribute in ("func_name", "args", "kwargs", "origin", "timeout", "result_ttl", "failure_ttl",
                      "description", "enqueue_at_front_on_retry", "meta"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert ours.get_status() == theirs.get_status() == "queued"
    assert set(connection.hkeys("rq:job:ours-2")) == set(connection.hkeys("rq:job:rqs"))
    assert Queue(QUEUE_NAME, connection=connection).job_ids == ["ours-1", "ours-2", "rqs"]
