"""Loyalty events become emails: every flow in es/en/pt with balance and tier, consent
for marketing flows, the frequency cap with priority, and bounced addresses suppressed."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from emails.delivery.scheduling import send_due_messages
from plugin.lifecycle.dispatch import dispatch_events
from plugin.loyalty.balances import record_event
from plugin.models import CustomerEvent, EmailSuppression, OutboxMessage, utcnow
from tests.integration.emails.conftest import add_customer, setup_shop, validate_all

EVENTS = {
    "welcome": {"signup_points": 100},
    "points_earned": {"points_earned": 350, "order_name": "#1042", "order_id": "1"},
    "reward_available": {"reward_id": "5k", "reward_name": "Cupón", "reward_cost": 500},
    "tier_changed": {"direction": "up", "previous_tier_name": "Bronce", "tier_name": "Plata"},
    "expiry_warning": {"expiring_points": 300, "expires_on": "2026-12-31"},
    "expiry_last_chance": {"expiring_points": 300, "expires_on": "2026-12-31"},
    "birthday": {"birthday_points": 200},
    "referral_reward": {"points_awarded": 500, "friend_first_name": "Camila"},
    "order_fulfilled": {"order_id": "1", "order_name": "#1042", "fulfilled_at": "2026-11-20T10:00:00+00:00"},
}
BALANCE = {"es": "4.321", "en": "4,321", "pt": "4.321"}


def _events(app_state, shop_id, customer_id, kinds, prefix="e"):
    with app_state.db.transaction() as session:
        for kind in kinds:
            record_event(session, shop_id, customer_id, kind, f"{prefix}:{kind}", utcnow(), EVENTS[kind])


def _rows(app_state):
    with app_state.db.transaction() as session:
        return session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()


@pytest.mark.parametrize("locale", ["es", "en", "pt"])
def test_every_loyalty_event_renders_in_the_customer_language_with_balance_and_tier(sg_app, locale):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state, emails={"frequency_cap": 10})
    customer_id = add_customer(app_state, shop_id, locale=locale, points=4321, tier="Bronce")
    _events(app_state, shop_id, customer_id, EVENTS)
    assert dispatch_events(app_state, utcnow())["queued"] == len(EVENTS)
    assert dispatch_events(app_state, utcnow())["events"] == 0  # handled in the same transaction
    rows = _rows(app_state)
    assert {r.flow for r in rows} == {k if k != "order_fulfilled" else "feedback_request" for k in EVENTS}
    for row in rows:
        assert row.locale == locale and row.status == "queued", (row.flow, row.status, row.reason)
        assert BALANCE[locale] in row.text, (row.flow, row.text)
        assert "Bronce" in row.text or "Plata" in row.text, row.flow
    with app_state.db.transaction() as session:
        assert session.execute(select(CustomerEvent.handled_at)).scalars().all().count(None) == 0


def test_tier_up_is_celebrated_in_spanish(sg_app):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    _events(app_state, shop_id, add_customer(app_state, shop_id), ["tier_changed"])
    dispatch_events(app_state, utcnow())
    assert _rows(app_state)[0].subject == "¡Felicidades! Ya eres Plata"


def test_feedback_request_waits_the_shop_delay(sg_app):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state, emails={"feedback_delay_days": 3})
    fulfilled = utcnow().replace(microsecond=0) - timedelta(days=1)
    with app_state.db.transaction() as session:
        record_event(session, shop_id, add_customer(app_state, shop_id), "order_fulfilled", "f:1", fulfilled,
                     dict(EVENTS["order_fulfilled"], fulfilled_at=fulfilled.isoformat()))
    dispatch_events(app_state, utcnow())
    row = _rows(app_state)[0]
    assert row.send_after == fulfilled + timedelta(days=3)
    assert send_due_messages(app_state, utcnow() + timedelta(days=1))["due"] == 0
    assert "/survey/" in row.html and "score=10" in row.html


def test_marketing_flows_need_subscribed_consent(sg_app, sink):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    customer_id = add_customer(app_state, shop_id, consent="NOT_SUBSCRIBED")
    _events(app_state, shop_id, customer_id, ["birthday", "welcome"])
    dispatch_events(app_state, utcnow())
    send_due_messages(app_state, utcnow() + timedelta(seconds=1))
    by_flow = {r.flow: r for r in _rows(app_state)}
    assert (by_flow["birthday"].status, by_flow["birthday"].reason) == ("suppressed", "no_consent")
    assert by_flow["birthday"].html is None  # nothing rendered for a message that may not go
    assert by_flow["welcome"].status == "sent"  # transactional notice
    assert [r["body"]["personalizations"][0]["custom_args"]["flow"] for r in sink.requests] == ["welcome"]


def test_frequency_cap_keeps_the_most_important_marketing_email(sg_app, sink, mail_send_validator):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state, emails={"notices_need_consent": True})
    customer_id = add_customer(app_state, shop_id)
    # As marketing (merchant setting): three mails due together, cap 1 per 24 h.
    _events(app_state, shop_id, customer_id, ["birthday", "expiry_warning", "points_earned"])
    dispatch_events(app_state, utcnow())
    now = utcnow() + timedelta(seconds=1)
    send_due_messages(app_state, now)
    statuses = {r.flow: (r.status, r.reason) for r in _rows(app_state)}
    assert statuses == {"points_earned": ("sent", None), "expiry_warning": ("suppressed", "frequency_cap"),
                        "birthday": ("suppressed", "frequency_cap")}
    _events(app_state, shop_id, customer_id, ["birthday"], prefix="same-day")
    dispatch_events(app_state, utcnow())
    assert _rows(app_state)[-1].reason == "frequency_cap"  # checked at queue time too
    with app_state.db.transaction() as session:  # pretend the first one left 25 h ago
        session.execute(OutboxMessage.__table__.update().where(OutboxMessage.status == "sent")
                        .values(sent_at=utcnow() - timedelta(hours=25)))
    _events(app_state, shop_id, customer_id, ["birthday"], prefix="next-day")
    dispatch_events(app_state, utcnow())
    send_due_messages(app_state, now + timedelta(seconds=5))
    assert len(sink.requests) == 2
    validate_all(sink, mail_send_validator)


def test_a_bounced_address_is_not_mailed_again(sg_app, sink):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    customer_id = add_customer(app_state, shop_id)
    _events(app_state, shop_id, customer_id, ["welcome"])
    dispatch_events(app_state, utcnow())
    with app_state.db.transaction() as session:
        session.add(EmailSuppression(shop_id=shop_id, email="valentina@example.com", reason="bounced"))
    send_due_messages(app_state, utcnow() + timedelta(seconds=1))
    assert (_rows(app_state)[0].status, _rows(app_state)[0].reason) == ("suppressed", "bounced")
    assert sink.requests == []
