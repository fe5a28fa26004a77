"""Attack 10: a correctly signed Event Webhook batch captured 30 days ago was accepted again,
and a 20,000-event batch was recorded inside the request (12.8 s; gunicorn's timeout is 30 s).
Now: signatures older than 10 minutes are refused, and the request only stores the batch."""
from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from emails.delivery.event_batches import sweep_event_batches
from plugin.jobs.queue import QUEUE_NAME
from plugin.models import EmailEvent, SendgridEventBatch, utcnow
from tests.conftest import rq_app_with
from tests.shopify_requests import FIXTURES

SIG, TS = "X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp"
KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_B64 = base64.b64encode(KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


@pytest.fixture
def events_app(migrated, pg_url, redis_url):
    with rq_app_with(pg_url, redis_url, SENDGRID_EVENT_PUBLIC_KEY=PUBLIC_B64) as app:
        yield app


def _events(count: int) -> bytes:
    # Shape from fixtures/sendgrid/events_example.json (delivered events).
    return json.dumps([{"email": f"shopper{n}@example.com", "timestamp": 1700000000 + n, "event": "delivered",
                        "sg_event_id": f"ev-{n}", "sg_message_id": f"msg-{n}", "response": "250 OK"}
                       for n in range(count)]).encode()


def _post(client, raw: bytes, signed_at: int):
    signature = base64.b64encode(KEY.sign(str(signed_at).encode() + raw, ec.ECDSA(hashes.SHA256()))).decode()
    return client.post("/sendgrid/events", data=raw, headers={SIG: signature, TS: str(signed_at)})


def _count(app_state, model) -> int:
    with app_state.db.transaction() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_correctly_signed_batch_from_30_days_ago_is_refused(events_app):
    app_state = events_app.extensions["embajador"]
    month_ago = int(time.time()) - 30 * 24 * 3600
    response = _post(events_app.test_client(), _events(3), month_ago)
    assert response.status_code == 401
    assert _count(app_state, SendgridEventBatch) == 0 and _count(app_state, EmailEvent) == 0
    assert _post(events_app.test_client(), _events(3), int(time.time()) + 3600).status_code == 401  # future too


def test_a_20000_event_batch_is_only_stored_in_the_request_and_recorded_by_the_worker(events_app):
    app_state = events_app.extensions["embajador"]
    response = _post(events_app.test_client(), _events(20_000), int(time.time()))
    assert response.status_code == 200
    assert response.get_json()["status"] == "queued"
    assert _count(app_state, EmailEvent) == 0  # nothing recorded while the request was open
    queue = Queue(QUEUE_NAME, connection=app_state.queue.connection)
    SimpleWorker([queue], connection=app_state.queue.connection).work(burst=True)
    assert _count(app_state, EmailEvent) == 20_000
    with app_state.db.transaction() as session:
        batch = session.execute(select(SendgridEventBatch)).scalar_one()
        assert (batch.status, batch.raw_body, batch.counts) == ("processed", None, {"stored": 20_000, "duplicates": 0})


def test_sweeping_a_waiting_batch_adds_no_copies_of_its_job(events_app):
    """A batch can wait behind a backlog longer than SWEEP_AFTER: each tick's sweep must not push
    another copy of its job in front of new work (the inbox sweeper's twin bug filled the full
    chaos replay's list with 15,204 jobs, most of them copies)."""
    app_state = events_app.extensions["embajador"]
    raw = (FIXTURES / "sendgrid" / "events_example.json").read_bytes()
    assert _post(events_app.test_client(), raw, int(time.time())).status_code == 200
    queue = Queue(QUEUE_NAME, connection=app_state.queue.connection)
    assert queue.count == 1
    for minutes in (3, 6, 9):
        assert sweep_event_batches(app_state, utcnow() + timedelta(minutes=minutes)) == {"requeued": 1}
    assert queue.count == 1
    SimpleWorker([queue], connection=app_state.queue.connection).work(burst=True)
    with app_state.db.transaction() as session:
        batch = session.execute(select(SendgridEventBatch)).scalar_one()
        assert (batch.status, batch.raw_body) == ("processed", None)
    assert _count(app_state, EmailEvent) == batch.counts["stored"] > 0
