"""SendGrid's signed Event Webhook (real vector and our own key) and the survey →
complaint loop, through HTTP as SendGrid and shoppers reach us."""
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

from plugin.lifecycle.dispatch import dispatch_events
from plugin.feedback.survey_links import survey_token
from emails.delivery.outbox import message_id_for, queue_email, send_due_messages
from plugin.models import (Complaint, Customer, CustomerEvent, EmailEvent, EmailSuppression, OutboxMessage, Shop,
                           SurveyResponse, utcnow)
from tests.integration.email_support import add_customer, make_app, setup_shop
from tests.integration.test_admin_session import bearer, session_token
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


def test_real_signed_vector_is_accepted_and_recorded_once(vector_app, monkeypatch):
    # The vector was signed long ago; check it at its own time (fresh signatures: tests/security).
    monkeypatch.setattr("emails.routes.wall_clock", lambda: int(VECTOR["timestamp"]) + 5)
    client = vector_app.test_client()
    raw = VECTOR["raw_body"].encode()
    assert raw.endswith(b"\r\n")
    headers = {SIG: VECTOR["signature_base64_der"], TS: VECTOR["timestamp"], "Content-Type": "application/json"}
    first = client.post("/sendgrid/events", data=raw, headers=headers)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json()["status"] == "queued"
    assert len(_stored(vector_app.extensions["embajador"])) == len(json.loads(raw))
    again = client.post("/sendgrid/events", data=raw, headers=headers)  # SendGrid retried the batch
    assert again.status_code == 200
    assert len(_stored(vector_app.extensions["embajador"])) == len(json.loads(raw))


def test_tampered_body_is_refused_and_nothing_is_stored(vector_app, monkeypatch):
    monkeypatch.setattr("emails.routes.wall_clock", lambda: int(VECTOR["timestamp"]) + 5)
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
    assert response.status_code == 200 and response.get_json()["status"] == "queued"
    with app_state.db.transaction() as session:
        assert session.execute(select(EmailSuppression.reason)).scalars().all() in (["bounced"], ["spam_report"])
        assert session.get(Customer, customer_id).marketing_state == "UNSUBSCRIBED"
        recorded = session.execute(select(EmailEvent.outbox_id)).scalars().all()
        assert set(recorded) == {session.execute(select(OutboxMessage.id)).scalar_one()}
    # The next email to that address is suppressed.
    send_due_messages(app_state, utcnow() + timedelta(seconds=1))
    with app_state.db.transaction() as session:
        assert session.execute(select(OutboxMessage.status)).scalar_one() == "suppressed"


def _survey(app_state, shop_id, customer_id, order_id="555", kind="nps", expires_in=timedelta(days=30)):
    with app_state.db.transaction() as session:
        shop, customer = session.get(Shop, shop_id), session.get(Customer, customer_id)
        return survey_token(app_state.config.secret_key, shop, customer, order_id, "#1042", kind,
                            utcnow() + expires_in)


def test_low_score_opens_one_complaint_notifies_merchant_and_admin_answers(app, client):
    app_state = app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    customer_id = add_customer(app_state, shop_id)
    token = _survey(app_state, shop_id, customer_id)
    page = client.post(f"/survey/{token}", data={"score": 3})
    assert page.status_code == 200 and "¡Gracias por tu respuesta!" in page.get_data(as_text=True)
    assert client.post(f"/survey/{token}", data={"score": 2}).status_code == 200  # later click updates
    comment = client.post(f"/survey/{token}/comment", data={"comment": "Llegó roto"})
    assert comment.status_code == 200
    with app_state.db.transaction() as session:
        (response,) = session.execute(select(SurveyResponse)).scalars().all()
        assert (response.score, response.comment) == (2, "Llegó roto")
        (complaint,) = session.execute(select(Complaint)).scalars().all()
        assert (complaint.status, complaint.comment) == ("open", "Llegó roto")
        (mail,) = session.execute(select(OutboxMessage)).scalars().all()
        assert (mail.flow, mail.to_email) == ("complaint_opened", "dueña@tienda.test")
        assert "Valentina Rojas" in mail.subject
    auth = bearer(session_token())
    listed = client.get("/api/complaints", headers=auth).get_json()["complaints"]
    assert [c["status"] for c in listed] == ["open"]
    answered = client.post(f"/api/complaints/{complaint.id}/answer", json={"answer": "Te enviamos otro"},
                           headers=auth)
    assert answered.get_json()["complaint"]["status"] == "answered"
    assert client.post(f"/api/complaints/{complaint.id}/close", headers=auth).get_json()["complaint"]["status"] \
        == "closed"
    assert client.post(f"/api/complaints/{complaint.id}/answer", json={"answer": "x"}, headers=auth).status_code == 409
    assert client.post("/api/complaints/999/close", headers=auth).status_code == 404


def test_promoter_score_records_a_referral_invite_and_no_complaint(app, client):
    app_state = app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    customer_id = add_customer(app_state, shop_id)
    with app_state.db.transaction() as session:
        session.get(Customer, customer_id).referral_code = "VALE42"
    assert client.post(f"/survey/{_survey(app_state, shop_id, customer_id)}", data={"score": 10}).status_code == 200
    dispatch_events(app_state, utcnow())
    with app_state.db.transaction() as session:
        assert session.execute(select(Complaint)).scalars().all() == []
        assert session.execute(select(CustomerEvent.kind)).scalars().all() == ["referral_invite"]
        (mail,) = session.execute(select(OutboxMessage)).scalars().all()
        assert mail.flow == "referral_invite" and "https://embajador.test/r/VALE42" in mail.html


@pytest.mark.parametrize("mutate, status", [(lambda t: t[:-3] + "abc", 404), (None, 410)])
def test_bad_or_expired_survey_links_record_nothing(app, client, mutate, status):
    app_state = app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    customer_id = add_customer(app_state, shop_id)
    if mutate:
        token = mutate(_survey(app_state, shop_id, customer_id))
    else:
        token = _survey(app_state, shop_id, customer_id, expires_in=timedelta(seconds=-1))
    assert client.post(f"/survey/{token}", data={"score": 1}).status_code == status
    with app_state.db.transaction() as session:
        assert session.execute(select(SurveyResponse)).scalars().all() == []


def test_out_of_scale_score_is_rejected(app, client):
    app_state = app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    token = _survey(app_state, shop_id, add_customer(app_state, shop_id), kind="csat")
    assert client.post(f"/survey/{token}", data={"score": 0}).status_code == 400
    assert client.post(f"/survey/{token}", data={"score": 5}).status_code == 200
