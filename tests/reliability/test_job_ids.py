"""The tick re-enqueues due work every minute under a deterministic job id (an email's
``email-<message_id>-<attempt>``). Found by the chaos replay: due emails stayed ``queued`` with 0
attempts while send jobs kept finishing "OK" — every tick pushed another copy of every due
email's id, the workers spent their time on no-op copies of ids already sent, and an id re-used
while RQ still kept its previous result (300 s) inherited that hash's expiry, so it could vanish
before a worker reached it. A waiting job now stands for its re-enqueues, and a re-used id's hash
no longer expires while it waits."""
from __future__ import annotations

from datetime import timedelta

from rq import Queue
from rq.job import Job
from sqlalchemy import select

from emails.delivery.outbox import queue_email
from emails.delivery.scheduling import SEND_JOB, send_due_messages
from plugin.jobs.queue import QUEUE_NAME
from plugin.models import Customer, OutboxMessage, Shop, utcnow
from plugin.models.email import QUEUED, SENT
from tests.conftest import rq_app_with
from tests.integration.conftest import run_worker
from tests.integration.emails.conftest import add_customer, setup_shop


def _welcome(app_state) -> OutboxMessage:
    shop_id = setup_shop(app_state)
    customer_id = add_customer(app_state, shop_id)
    with app_state.db.transaction() as session:
        shop, customer = session.get(Shop, shop_id), session.get(Customer, customer_id)
        row_id = queue_email(session, shop=shop, flow="welcome", message_key="welcome:1", to_email=customer.email,
                             customer=customer, context={"signup_points": 100, "program_url": "https://x.test/p"})
        return session.get(OutboxMessage, row_id)


def _row(app_state, row_id: int) -> OutboxMessage:
    with app_state.db.transaction() as session:
        return session.execute(select(OutboxMessage).where(OutboxMessage.id == row_id)).scalar_one()


def _sink_message_ids(sink) -> list[str]:
    return [p["custom_args"]["message_id"] for r in sink.requests for p in r["body"]["personalizations"]]


def test_ticks_re_enqueueing_a_waiting_email_leave_one_job_and_send_it_once(migrated, pg_url, redis_url, sink):
    with rq_app_with(pg_url, redis_url, SENDGRID_API_KEY="SG.test-key", SENDGRID_API_HOST=sink.url,
                     SENDGRID_FROM_EMAIL="puntos@embajador.test") as app:
        app_state = app.extensions["embajador"]
        row = _welcome(app_state)
        queue = Queue(QUEUE_NAME, connection=app_state.queue.connection)
        start = utcnow() + timedelta(seconds=1)
        for minute in range(3):  # three ticks before any worker is free
            send_due_messages(app_state, start + timedelta(minutes=minute))
        assert queue.count == 1, "every tick pushed another copy of the same waiting job"
        run_worker(app_state)
        assert _row(app_state, row.id).status == SENT
        assert _sink_message_ids(sink) == [row.message_id]


def test_an_id_whose_last_result_is_still_kept_is_re_enqueued_without_that_expiry(migrated, pg_url, redis_url, sink):
    with rq_app_with(pg_url, redis_url, SENDGRID_API_KEY="SG.test-key", SENDGRID_API_HOST=sink.url,
                     SENDGRID_FROM_EMAIL="puntos@embajador.test") as app:
        app_state = app.extensions["embajador"]
        connection = app_state.queue.connection
        row = _welcome(app_state)
        job_id = f"email-{row.message_id}-0"
        # A copy that runs before the row is due (a clock behind): a no-op, whose result RQ keeps 300 s.
        early = row.send_after - timedelta(minutes=5)
        assert app_state.queue.enqueue(SEND_JOB, row.id, early.isoformat(), job_id=job_id)
        run_worker(app_state)
        assert _row(app_state, row.id).status == QUEUED and sink.requests == []
        assert 0 < connection.ttl(Job.key_for(job_id)) <= 300

        send_due_messages(app_state, row.send_after + timedelta(seconds=1))  # the next tick: same id
        assert connection.ttl(Job.key_for(job_id)) == -1, "the waiting job would expire with the old result"
        run_worker(app_state)
        assert _row(app_state, row.id).status == SENT
        assert _sink_message_ids(sink) == [row.message_id]
