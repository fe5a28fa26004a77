"""A work horse drains waiting deliveries (plugin/jobs/worker.py ``AppWorker.drain_waiting``):
the Procfile's worker class, forking for real, on real Redis/RQ and Postgres."""
from __future__ import annotations

import os
import signal

from rq import Queue
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry
from sqlalchemy import func, select

import webhooks.processing as processing
from plugin.jobs.queue import QUEUE_NAME
from plugin.jobs.worker import AppWorker
from plugin.models import LedgerEntry, WebhookDelivery, utcnow
from tests.integration.loyalty.conftest import payable, send, setup_shop
from webhooks.inbox import SWEEP_AFTER
from webhooks.sweeper import sweep_inbox


class CountingWorker(AppWorker):
    """The production worker class; counts the horses its parent forks."""

    forks = 0

    def fork_work_horse(self, job, queue):
        self.forks += 1
        super().fork_work_horse(job, queue)


def worker_for(app, drain: bool = True) -> CountingWorker:
    connection = app.extensions["embajador"].queue.connection
    return CountingWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection, app=app, drain=drain)


def paid_orders(app, count: int) -> list[str]:
    """``count`` orders/paid deliveries stored and enqueued through the real ingress."""
    client = app.test_client()
    for n in range(count):
        send(client, "orders/paid", payable(id=820982911946154500 + n, name=f"#D{n}"), event_id=f"drain-{n}")
    return Queue(QUEUE_NAME, connection=app.extensions["embajador"].queue.connection).job_ids


def statuses(app_state) -> list[str]:
    with app_state.db.transaction() as session:
        return session.execute(select(WebhookDelivery.status).order_by(WebhookDelivery.id)).scalars().all()


def earn_entries(app_state) -> int:
    with app_state.db.transaction() as session:
        return session.execute(select(func.count()).select_from(LedgerEntry)
                               .where(LedgerEntry.kind == "earn")).scalar_one()


def test_one_horse_runs_every_waiting_delivery_and_leaves_rq_as_rq_would(rq_app):
    app_state = rq_app.extensions["embajador"]
    setup_shop(app_state)
    job_ids = paid_orders(rq_app, 5)
    worker = worker_for(rq_app)
    worker.work(burst=True)
    assert worker.forks == 1  # one fork, one Postgres connection, for five orders
    assert statuses(app_state) == ["processed"] * 5 and earn_entries(app_state) == 5
    queue = Queue(QUEUE_NAME, connection=app_state.queue.connection)
    jobs = [queue.fetch_job(job_id) for job_id in job_ids]
    assert [job.get_status() for job in jobs] == ["finished"] * 5
    assert [job.return_value() for job in jobs] == ["processed"] * 5
    assert all(job.started_at and job.ended_at for job in jobs)
    assert sorted(FinishedJobRegistry(queue=queue).get_job_ids()) == sorted(job_ids)
    assert StartedJobRegistry(queue=queue).get_job_ids() == [] and FailedJobRegistry(queue=queue).count == 0
    assert queue.count == 0 and app_state.queue.connection.llen(queue.intermediate_queue_key) == 0
    assert app_state.queue.connection.keys("rq:execution:*") == []  # every execution cleaned up


def test_without_draining_each_delivery_forks_its_own_horse(rq_app):
    app_state = rq_app.extensions["embajador"]
    setup_shop(app_state)
    paid_orders(rq_app, 3)
    worker = worker_for(rq_app, drain=False)  # python -m plugin.jobs.worker --no-drain
    worker.work(burst=True)
    assert worker.forks == 3 and earn_entries(app_state) == 3


def test_a_horse_stops_draining_at_a_job_of_another_kind_and_order_is_kept(rq_app):
    app_state = rq_app.extensions["embajador"]
    setup_shop(app_state)
    first = paid_orders(rq_app, 1)[0]
    app_state.queue.enqueue("builtins.abs", -1, job_id="another-kind")
    send(rq_app.test_client(), "orders/paid", payable(id=820982911946154999, name="#D9"), event_id="drain-9")
    queue = Queue(QUEUE_NAME, connection=app_state.queue.connection)
    assert queue.job_ids[:2] == [first, "another-kind"]
    last = queue.job_ids[2]
    worker = worker_for(rq_app)
    worker.work(burst=True)
    assert worker.forks == 3
    a, other, b = (queue.fetch_job(job_id) for job_id in (first, "another-kind", last))
    assert a.ended_at <= other.started_at and other.ended_at <= b.started_at
    assert other.return_value() == 1 and earn_entries(app_state) == 2


def test_a_horse_asked_to_stop_takes_no_further_delivery(rq_app, monkeypatch):
    """On SIGTERM a HerokuWorker sends its horse SIGRTMIN: the job under way finishes, the
    horse drains nothing more (each delivery here then forks its own horse)."""
    app_state = rq_app.extensions["embajador"]
    setup_shop(app_state)
    paid_orders(rq_app, 3)
    process = processing.process_delivery

    def asked_to_stop_midway(app_state, delivery_id, now=None):
        os.kill(os.getpid(), signal.SIGRTMIN)  # in the horse: what its parent sends on SIGTERM
        return process(app_state, delivery_id, now)
    monkeypatch.setattr(processing, "process_delivery", asked_to_stop_midway)
    worker = worker_for(rq_app)
    worker.work(burst=True)
    assert worker.forks == 3
    assert statuses(app_state) == ["processed"] * 3 and earn_entries(app_state) == 3


def test_a_horse_that_dies_after_claiming_loses_nothing_the_sweeper_brings_it_back_once(rq_app):
    app_state = rq_app.extensions["embajador"]
    setup_shop(app_state)
    job_id = paid_orders(rq_app, 1)[0]
    queue = Queue(QUEUE_NAME, connection=app_state.queue.connection)
    worker = worker_for(rq_app)
    pid = os.fork()
    if pid == 0:  # a horse: claims the waiting delivery, then is killed before running it
        try:
            worker.claim_head(processing.JOB, queue)
        finally:
            os.kill(os.getpid(), signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert queue.job_ids == []  # claimed: no other worker will run that copy
    assert statuses(app_state) == ["pending"] and earn_entries(app_state) == 0

    assert sweep_inbox(app_state, utcnow() + SWEEP_AFTER + SWEEP_AFTER)["redelivered"] == 1
    assert queue.job_ids == [job_id]
    worker.work(burst=True)
    assert statuses(app_state) == ["processed"] and earn_entries(app_state) == 1
    assert sweep_inbox(app_state, utcnow() + 4 * SWEEP_AFTER)["redelivered"] == 0


def test_a_delivery_another_worker_takes_between_peek_and_claim_is_not_run_twice(rq_app, monkeypatch):
    app_state = rq_app.extensions["embajador"]
    setup_shop(app_state)
    job_id = paid_orders(rq_app, 1)[0]
    queue = Queue(QUEUE_NAME, connection=app_state.queue.connection)
    horse = worker_for(rq_app)
    fetch, taken = horse.job_class.fetch, []

    def fetch_then_lose_the_race(*args, **kwargs):
        job = fetch(*args, **kwargs)
        if not taken:  # another worker dequeues it as RQ does (LMOVE to its own list) before our LREM
            monkeypatch.undo()
            taken.append(Queue.dequeue_any([queue], None, connection=app_state.queue.connection)[0].id)
        return job
    monkeypatch.setattr(horse.job_class, "fetch", fetch_then_lose_the_race)
    assert horse.claim_head(processing.JOB, queue) is None
    assert taken == [job_id] and queue.job_ids == []
