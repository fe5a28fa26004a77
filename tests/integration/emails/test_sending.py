"""Sending through the one sender to a local SendGrid sink: schema-valid requests,
metadata, at-most-once delivery, retries on 5xx/429 and no retry on 4xx."""
from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from emails.delivery.outbox import message_id_for, queue_email
from emails.delivery.scheduling import send_due_messages
from emails.delivery.send_job import send_outbox_message
from plugin.models import Customer, OutboxMessage, Shop, utcnow
from tests.integration.emails.conftest import add_customer, make_app, setup_shop, validate_all
from tests.shopify_requests import SHOP


def _queue(app_state, flow="welcome", key="welcome:1", context=None, **kw) -> int | None:
    with app_state.db.transaction() as session:
        shop = session.get(Shop, kw.pop("shop_id"))
        customer = session.get(Customer, kw.pop("customer_id"))
        return queue_email(session, shop=shop, flow=flow, message_key=key, to_email=customer.email,
                           customer=customer, context=context or {"signup_points": 100,
                                                                   "program_url": "https://x.test/p"}, **kw)


def _row(app_state, row_id) -> OutboxMessage:
    with app_state.db.transaction() as session:
        return session.get(OutboxMessage, row_id)


def test_welcome_reaches_sendgrid_once_with_our_metadata(sg_app, sink, mail_send_validator):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    customer_id = add_customer(app_state, shop_id)
    row_id = _queue(app_state, shop_id=shop_id, customer_id=customer_id)
    assert _queue(app_state, shop_id=shop_id, customer_id=customer_id) is None  # replay: nothing new

    now = utcnow() + timedelta(seconds=1)
    assert send_due_messages(app_state, now)["enqueued"] == 1
    assert send_due_messages(app_state, now)["enqueued"] == 0

    validate_all(sink, mail_send_validator)
    assert len(sink.requests) == 1
    body = sink.requests[0]["body"]
    assert sink.requests[0]["headers"]["Authorization"] == "Bearer SG.test-key"
    args = body["personalizations"][0]["custom_args"]
    assert args == {"shop": SHOP, "flow": "welcome", "message_id": message_id_for(SHOP, "welcome:1")}
    assert body["from"] == {"email": "puntos@embajador.test", "name": "Tienda Embajador"}
    assert body["reply_to"] == {"email": "hola@tienda.test"}
    assert body["categories"] == ["embajador", "transactional", "welcome"]
    assert "asm" not in body  # transactional: no unsubscribe group
    assert "1.200" in body["content"][1]["value"] and "Bronce" in body["content"][1]["value"]
    row = _row(app_state, row_id)
    assert (row.status, row.attempts, row.sg_message_id) == ("sent", 1, "sg-1")


def test_marketing_flow_carries_unsubscribe_group_and_one_click_header(sg_app, sink, mail_send_validator):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    customer_id = add_customer(app_state, shop_id)
    _queue(app_state, flow="birthday", key="birthday:2026", context={"birthday_points": 200},
           shop_id=shop_id, customer_id=customer_id)
    send_due_messages(app_state, utcnow() + timedelta(seconds=1))
    validate_all(sink, mail_send_validator)
    body = sink.requests[0]["body"]
    assert body["asm"] == {"group_id": 321}
    headers = body["personalizations"][0]["headers"]
    assert headers["List-Unsubscribe"].startswith("<https://embajador.test/emails/unsubscribe/")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert body["categories"] == ["embajador", "marketing", "birthday"]


def test_500_is_retried_later_without_a_duplicate(sg_app, sink, mail_send_validator):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    row_id = _queue(app_state, shop_id=shop_id, customer_id=add_customer(app_state, shop_id))
    sink.answer(500)
    now = utcnow() + timedelta(seconds=1)
    send_due_messages(app_state, now)
    row = _row(app_state, row_id)
    assert (row.status, row.attempts) == ("queued", 1) and "HTTP 500" in row.last_error
    assert row.next_attempt_at == now + timedelta(seconds=30)

    assert send_due_messages(app_state, now + timedelta(seconds=10))["due"] == 0  # backoff respected
    send_due_messages(app_state, now + timedelta(seconds=31))
    send_due_messages(app_state, now + timedelta(hours=1))
    assert len(sink.requests) == 2
    assert len({r["body"]["personalizations"][0]["custom_args"]["message_id"] for r in sink.requests}) == 1
    assert _row(app_state, row_id).status == "sent"
    # A duplicate job for the same row after success sends nothing.
    assert send_outbox_message(app_state, row_id, now + timedelta(hours=2)) == "skipped"
    assert len(sink.requests) == 2
    validate_all(sink, mail_send_validator)


def test_429_honours_retry_after(sg_app, sink):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    row_id = _queue(app_state, shop_id=shop_id, customer_id=add_customer(app_state, shop_id))
    sink.answer((429, {"Retry-After": "120"}))
    now = utcnow() + timedelta(seconds=1)
    send_due_messages(app_state, now)
    assert _row(app_state, row_id).next_attempt_at == now + timedelta(seconds=120)


def test_400_is_recorded_failed_and_never_retried(sg_app, sink):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    row_id = _queue(app_state, shop_id=shop_id, customer_id=add_customer(app_state, shop_id))
    sink.answer(400)
    now = utcnow() + timedelta(seconds=1)
    send_due_messages(app_state, now)
    send_due_messages(app_state, now + timedelta(days=1))
    row = _row(app_state, row_id)
    assert (row.status, row.reason, row.attempts) == ("failed", "http_400", 1)
    assert len(sink.requests) == 1


def test_crash_after_posting_is_never_resent(sg_app, sink):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    row_id = _queue(app_state, shop_id=shop_id, customer_id=add_customer(app_state, shop_id))
    now = utcnow()
    with app_state.db.transaction() as session:  # what a worker killed mid-send leaves behind
        row = session.get(OutboxMessage, row_id)
        row.status, row.attempts, row.claimed_at = "sending", 1, now
    assert send_due_messages(app_state, now + timedelta(minutes=1))["due"] == 0
    assert send_due_messages(app_state, now + timedelta(minutes=20))["parked"] == 1
    assert _row(app_state, row_id).status == "unknown"
    assert sink.requests == []


def test_without_api_key_messages_stay_in_the_outbox_and_the_cli_lists_them(migrated, pg_url):
    app = make_app(pg_url)
    with app.app_context():
        app_state = app.extensions["embajador"]
        shop_id = setup_shop(app_state)
        _queue(app_state, shop_id=shop_id, customer_id=add_customer(app_state, shop_id))
        send_due_messages(app_state, utcnow() + timedelta(seconds=1))
        with app_state.db.transaction() as session:
            rows = session.execute(select(OutboxMessage)).scalars().all()
        assert [r.status for r in rows] == ["outbox"]
        result = CliRunner().invoke(app.cli, ["embajador", "outbox", "--shop", SHOP])
        assert result.exit_code == 0, result.output
        assert "valentina@example.com" in result.output and "welcome" in result.output
        assert "Valentina, te damos la bienvenida con 100 puntos de regalo" in result.output
        assert "outbox" in result.output
    app.extensions["embajador"].db.dispose()
