"""The admin Emails page's per-flow choices, through the real app: a flow switched off sends
nothing (at queue time and for rows already queued, single and batch senders), its delay moves
when it is due, its sender is the SendGrid `from`; the consent kind cannot be changed; the
program's surveys section drives the feedback_request."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from emails.delivery.scheduling import send_due_messages
from plugin.lifecycle.dispatch import dispatch_events
from plugin.loyalty.balances import record_event
from plugin.models import OutboxMessage, utcnow
from tests.integration.admin.admin_support import auth
from tests.integration.emails.conftest import add_customer, setup_shop, validate_all

EVENTS = {
    "welcome": {"signup_points": 100},
    "points_earned": {"points_earned": 350, "order_name": "#1042", "order_id": "1"},
    "referral_reward": {"points_awarded": 500, "friend_first_name": "Camila"},
    "expiry_warning": {"expiring_points": 300, "expires_on": "2026-12-31"},
    "birthday": {"birthday_points": 200},
}


def _events(app_state, shop_id, customer_id, kinds, at):
    with app_state.db.transaction() as session:
        for kind in kinds:
            data = EVENTS.get(kind) or {"order_id": "1", "order_name": "#1042", "fulfilled_at": at.isoformat()}
            record_event(session, shop_id, customer_id, kind, f"e:{kind}", at, data)


def _rows(app_state) -> dict[str, OutboxMessage]:
    with app_state.db.transaction() as session:
        return {r.flow: r for r in session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()}


def _sent(sink) -> list[tuple[str, dict]]:
    return [(p["custom_args"]["flow"], r["body"]["from"]) for r in sink.requests
            for p in r["body"]["personalizations"]]


def test_switched_off_flow_sends_nothing_delay_and_sender_are_honored(sg_app, sink, mail_send_validator):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state, emails={"frequency_cap": 10})
    customer_id = add_customer(app_state, shop_id)
    client = sg_app.test_client()

    def put(flow, body):
        response = client.put(f"/api/emails/flows/{flow}", json=body, headers=auth())
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    put("points_earned", {"enabled": False})
    assert put("welcome", {"delay_minutes": 90})["delay_minutes"] == 90
    own = put("referral_reward", {"from_email": "Club@Tienda.test", "from_name": "Club Tienda"})
    assert own["sender"] == {"from_email": "club@tienda.test", "from_name": "Club Tienda"}
    put("expiry_warning", {"from_email": "avisos@tienda.test"})  # a batched flow: the batch request's from
    listed = {f["flow"]: f for f in client.get("/api/emails/flows", headers=auth()).get_json()["flows"]}
    assert listed["points_earned"]["enabled"] is False and listed["welcome"]["delay_minutes"] == 90

    now = utcnow().replace(microsecond=0)
    _events(app_state, shop_id, customer_id, ["points_earned", "welcome", "referral_reward", "expiry_warning",
                                              "birthday"], now)
    dispatch_events(app_state, now)
    rows = _rows(app_state)
    assert (rows["points_earned"].status, rows["points_earned"].reason) == ("suppressed", "flow_off")
    assert rows["welcome"].send_after == now + timedelta(minutes=90)
    put("birthday", {"enabled": False})  # already queued: switching off still stops it at send time

    send_due_messages(app_state, now + timedelta(seconds=1))
    assert sorted(_sent(sink)) == [("expiry_warning", {"email": "avisos@tienda.test", "name": "Tienda Embajador"}),
                                   ("referral_reward", {"email": "club@tienda.test", "name": "Club Tienda"})]
    assert (_rows(app_state)["birthday"].status, _rows(app_state)["birthday"].reason) == ("suppressed", "flow_off")

    send_due_messages(app_state, now + timedelta(minutes=91))
    assert _sent(sink)[-1] == ("welcome", {"email": "puntos@embajador.test", "name": "Tienda Embajador"})
    assert [flow for flow, _ in _sent(sink)].count("points_earned") == 0
    validate_all(sink, mail_send_validator)


def test_a_test_send_goes_even_for_a_switched_off_flow(sg_app, sink):
    app_state = sg_app.extensions["embajador"]
    setup_shop(app_state)
    client = sg_app.test_client()
    client.put("/api/emails/flows/welcome", json={"enabled": False}, headers=auth())
    sent = client.post("/api/emails/test", json={"flow": "welcome", "locale": "pt"}, headers=auth())
    assert sent.status_code == 200
    send_due_messages(app_state, utcnow() + timedelta(seconds=1))
    assert [r["body"]["personalizations"][0]["to"][0]["email"] for r in sink.requests] == ["dueña@tienda.test"]


@pytest.mark.parametrize("flow,body,field", [
    ("birthday", {"marketing": False}, "marketing"),
    ("welcome", {"kind": "marketing"}, "kind"),
    ("welcome", {"enabled": "no"}, "enabled"),
    ("welcome", {"delay_minutes": -5}, "delay_minutes"),
    ("welcome", {"delay_minutes": "10"}, "delay_minutes"),
    ("feedback_request", {"delay_minutes": 60}, "delay_minutes"),
    ("abandoned_checkout_2", {"delay_minutes": 60}, "delay_minutes"),
    ("complaint_opened", {"delay_minutes": 60}, "delay_minutes"),
    ("welcome", {"from_email": "not-an-address"}, "from_email"),
    ("welcome", {"from_name": "A\r\nBcc: x@y.z"}, "from_name"),
    ("welcome", {"colour": "red"}, "colour"),
])
def test_bad_flow_settings_name_the_field_and_change_nothing(sg_app, flow, body, field):
    app_state = sg_app.extensions["embajador"]
    setup_shop(app_state)
    client = sg_app.test_client()
    before = client.get("/api/emails/flows", headers=auth()).get_json()
    response = client.put(f"/api/emails/flows/{flow}", json=body, headers=auth())
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert client.get("/api/emails/flows", headers=auth()).get_json() == before
    assert client.put("/api/emails/flows/nope", json={}, headers=auth()).status_code == 404


def test_flows_show_their_consent_kind_and_the_program_timing(sg_app):
    app_state = sg_app.extensions["embajador"]
    setup_shop(app_state)
    client = sg_app.test_client()
    flows = {f["flow"]: f for f in client.get("/api/emails/flows", headers=auth()).get_json()["flows"]}
    assert flows["birthday"]["marketing"] is True and flows["welcome"]["marketing"] is False
    assert flows["abandoned_checkout_2"]["program_timing"] == {"field": "abandoned_checkout.steps[1]",
                                                               "value": "PT24H"}
    assert flows["feedback_request"]["program_timing"] == {"field": "surveys.delay_days", "value": "P7D"}
    assert flows["welcome"]["program_timing"] is None


def test_program_surveys_section_sets_the_feedback_request(sg_app):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    customer_id = add_customer(app_state, shop_id)
    client = sg_app.test_client()
    program = client.get("/api/program", headers=auth()).get_json()
    assert program["surveys"] == {"type": "nps", "delay_days": 7, "expiry_days": 30}  # what the shop gets today
    program["surveys"] = {"type": "csat", "delay_days": 2, "expiry_days": 10}
    assert client.put("/api/program", json=program, headers=auth()).status_code == 200
    fulfilled = utcnow().replace(microsecond=0) - timedelta(days=1)
    _events(app_state, shop_id, customer_id, ["order_fulfilled"], fulfilled)
    dispatch_events(app_state, utcnow())
    row = _rows(app_state)["feedback_request"]
    assert row.send_after == fulfilled + timedelta(days=2)
    assert "score=5" in row.html and "score=6" not in row.html  # CSAT 1–5

    program["surveys"] = None  # switched off: no request for the next order
    assert client.put("/api/program", json=program, headers=auth()).status_code == 200
    with app_state.db.transaction() as session:
        record_event(session, shop_id, customer_id, "order_fulfilled", "e:second", fulfilled,
                     {"order_id": "2", "order_name": "#1043", "fulfilled_at": fulfilled.isoformat()})
    assert dispatch_events(app_state, utcnow())["skipped"] == 1
    bad = dict(program, surveys={"type": "stars"})
    response = client.post("/api/program/validate", json=bad, headers=auth()).get_json()
    assert response["valid"] is False and response["path"] == "surveys.type"
