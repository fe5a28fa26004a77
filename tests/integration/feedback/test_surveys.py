"""The survey → complaint loop, through HTTP as shoppers reach us: one-click scores,
complaints for low scores (merchant notified), referral invites for promoters."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from plugin.feedback.survey_links import survey_token
from plugin.lifecycle.dispatch import dispatch_events
from plugin.models import Complaint, Customer, CustomerEvent, OutboxMessage, Shop, SurveyResponse, utcnow
from tests.integration.conftest import bearer, session_token
from tests.integration.emails.conftest import add_customer, setup_shop


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
    page = client.get(f"/survey/{token}?score=3")
    assert page.status_code == 200 and "¡Gracias por tu respuesta!" in page.get_data(as_text=True)
    assert client.get(f"/survey/{token}?score=2").status_code == 200  # later click updates
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
    assert client.get(f"/survey/{_survey(app_state, shop_id, customer_id)}?score=10").status_code == 200
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
    assert client.get(f"/survey/{token}?score=1").status_code == status
    with app_state.db.transaction() as session:
        assert session.execute(select(SurveyResponse)).scalars().all() == []


def test_out_of_scale_score_is_rejected(app, client):
    app_state = app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    token = _survey(app_state, shop_id, add_customer(app_state, shop_id), kind="csat")
    assert client.get(f"/survey/{token}?score=0").status_code == 400
    assert client.get(f"/survey/{token}?score=5").status_code == 200
