"""SendGrid's signed Event Webhook (real vector and our own key), through HTTP as SendGrid
reaches us."""
from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from emails.delivery.outbox import message_id_for, queue_email
from emails.delivery.scheduling import send_due_messages
from plugin.models import Customer, EmailEvent, EmailSuppression, OutboxMessage, Shop, utcnow
from tests.integration.emails.conftest import add_customer, make_app, setup_shop
from tests.shopify_requests import SHOP

FIXTURES = Path("/work/shared/fixtures/sendgrid")
VECTOR = json.loads((FIXTURES / "event_webhook_vector.json").read_text())
SIG, TS = "X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp"
KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_B64 = base64.b64encode(KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


def _app(pg_url, public_key):
    app = make_app(pg_url, SENDGRID_EVENT_PUBLIC_KEY=public_key)
    return app


@pytest.fixture
def vector_app(migrated, pg_url):
    app = _app(pg_url, VECTOR["public_key_base64_der"])
    with app.app_context():
        yield app
    app.extensions["embajador"].db.dispose()


@pytest.fixture
def signed_app(migrated, pg_url):
    app = _app(pg_url, PUBLIC_B64)
    with app.app_context():
        yield app
    app.extensions["embajador"].db.dispose()


def _stored(app_state):
    with app_state.db.transaction() as session:
        return session.execute(select(EmailEvent)).scalars().all()


def test_real_signed_vector_is_accepted_and_recorded_once(vector_app):
    client = vector_app.test_client()
    raw = VECTOR["raw_body"].encode()
    assert raw.endswith(b"\r\n")
    headers = {SIG: VECTOR["signature_base64_der"], TS: VECTOR["timestamp"], "Content-Type": "application/json"}
    first = client.post("/sendgrid/events", data=raw, headers=headers)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json()["stored"] == len(json.loads(raw)) and first.get_json()["duplicates"] == 0
    again = client.post("/sendgrid/events", data=raw, headers=headers)
    assert again.get_json() == {"stored": 0, "duplicates": len(json.loads(raw))}
    assert len(_stored(vector_app.extensions["embajador"])) == len(json.loads(raw))


def test_tampered_body_is_refused_and_nothing_is_stored(vector_app):
    raw = VECTOR["raw_body"].encode().replace(b"dropped", b"delivered")
    response = vector_app.test_client().post("/sendgrid/events", data=raw, headers={
        SIG: VECTOR["signature_base64_der"], TS: VECTOR["timestamp"]})
    assert response.status_code == 401
    assert _stored(vector_app.extensions["embajador"]) == []


def test_without_a_public_key_the_endpoint_refuses(app, client):
    response = client.post("/sendgrid/events", data=VECTOR["raw_body"].encode(),
                           headers={SIG: VECTOR["signature_base64_der"], TS: VECTOR["timestamp"]})
    assert response.status_code == 503
    assert _stored(app.extensions["embajador"]) == []


def _post_signed(client, events):
    raw = json.dumps(events).encode()
    ts = str(int(time.time()))
    signature = base64.b64encode(KEY.sign(ts.encode() + raw, ec.ECDSA(hashes.SHA256()))).decode()
    return client.post("/sendgrid/events", data=raw, headers={SIG: signature, TS: ts})


def test_bounce_suppresses_and_unsubscribe_withdraws_consent(signed_app):
    app_state = signed_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    customer_id = add_customer(app_state, shop_id)
    with app_state.db.transaction() as session:
        shop, customer = session.get(Shop, shop_id), session.get(Customer, customer_id)
        queue_email(session, shop=shop, flow="welcome", message_key="welcome:x", to_email=customer.email,
                    customer=customer, context={"signup_points": 100, "program_url": "https://x.test"})
    message_id = message_id_for(SHOP, "welcome:x")
    examples = json.loads((FIXTURES / "events_example.json").read_text())
    events = []
    for index, example in enumerate(examples):
        events.append(dict(example, sg_event_id=f"ev-{index}", shop=SHOP, flow="welcome",
                           message_id=message_id, email="valentina@example.com"))
    types = {e["event"] for e in events}
    assert {"bounce", "unsubscribe", "delivered", "open", "click"} <= types
    response = _post_signed(signed_app.test_client(), events)
    assert response.status_code == 200 and response.get_json()["stored"] == len(events)
    with app_state.db.transaction() as session:
        assert session.execute(select(EmailSuppression.reason)).scalars().all() in (["bounced"], ["spam_report"])
        assert session.get(Customer, customer_id).marketing_state == "UNSUBSCRIBED"
        recorded = session.execute(select(EmailEvent.outbox_id)).scalars().all()
        assert set(recorded) == {session.execute(select(OutboxMessage.id)).scalar_one()}
    # The next email to that address is suppressed.
    send_due_messages(app_state, utcnow() + timedelta(seconds=1))
    with app_state.db.transaction() as session:
        assert session.execute(select(OutboxMessage.status)).scalar_one() == "suppressed"
