"""Mass flows through the outbox: ≤ 1,000 personalizations per schema-valid request, every
customer exactly once with their own message_id and balance, retries per request, consent
and cap re-checked when sent, and balances fresh at send time (batched and single)."""
from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

from sqlalchemy import insert, select

from emails.delivery.batch_send import send_outbox_batch
from emails.delivery.outbox import message_id_for, queue_email
from emails.delivery.scheduling import send_due_messages
from emails.delivery.send_job import MAX_ATTEMPTS
from plugin.models import Customer, EmailSuppression, OutboxMessage, Shop, utcnow
from tests.integration.emails.conftest import add_customer, setup_shop, validate_all
from tests.shopify_requests import SHOP


def _customers(app_state, shop_id, n, **overrides) -> list[int]:
    rows = [dict(shop_id=shop_id, shopify_id=str(9000 + i), email=f"c{i}@example.com", first_name=f"Cliente{i}",
                 locale="es", marketing_state="SUBSCRIBED", points_available=1000 + i, tier_name="Bronce",
                 **overrides) for i in range(n)]
    with app_state.db.transaction() as session:
        return list(session.execute(insert(Customer).returning(Customer.id), rows).scalars())


def _queue_birthdays(app_state, shop_id, customer_ids, year=2026) -> None:
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        for customer in session.execute(select(Customer).where(Customer.id.in_(customer_ids))).scalars():
            queue_email(session, shop=shop, flow="birthday", message_key=f"birthday:{customer.id}:{year}",
                        to_email=customer.email, customer=customer, context={"birthday_points": 200})


def _rows(app_state) -> list[OutboxMessage]:
    with app_state.db.transaction() as session:
        return session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()


def _ids(body) -> list[str]:
    return [p["custom_args"]["message_id"] for p in body["personalizations"]]


def _balance(n: int) -> str:
    return f"{n:,}".replace(",", ".")  # es: 1.234


def test_2500_birthdays_go_in_three_requests_each_customer_once_with_their_balance(sg_app, sink,
                                                                                     mail_send_validator):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    ids = _customers(app_state, shop_id, 2500)
    _queue_birthdays(app_state, shop_id, ids)
    rows = _rows(app_state)
    assert len({r.batch_key for r in rows}) == 1 and all(r.status == "queued" for r in rows)

    now = utcnow() + timedelta(seconds=1)
    result = send_due_messages(app_state, now)
    assert result["due"] == 2500 and result["enqueued"] == 3
    assert len(sink.requests) == 3
    validate_all(sink, mail_send_validator)
    bodies = sink.bodies()
    assert [len(b["personalizations"]) for b in bodies] == [1000, 1000, 500]

    by_id = {r.message_id: r for r in rows}
    with app_state.db.transaction() as session:
        points = dict(session.execute(select(Customer.email, Customer.points_available)).all())
    sent_ids = [mid for body in bodies for mid in _ids(body)]
    assert Counter(sent_ids) == Counter(list(by_id))  # every customer exactly once
    for body in bodies:
        assert body["asm"] == {"group_id": 321} and body["categories"] == ["embajador", "marketing", "birthday"]
        assert "-points_balance-" in body["content"][1]["value"]
        for p in body["personalizations"]:
            email = p["to"][0]["email"]
            row = by_id[p["custom_args"]["message_id"]]
            assert row.to_email == email
            assert p["custom_args"] == {"shop": SHOP, "flow": "birthday", "message_id": row.message_id}
            assert p["substitutions"]["-points_balance-"] == _balance(points[email])
            assert p["headers"]["List-Unsubscribe"].startswith("<https://embajador.test/emails/unsubscribe/")
    rows = _rows(app_state)
    assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}
    sample = next(r for r in rows if r.to_email == "c1234@example.com")
    assert f"Tu saldo: {_balance(2234)} puntos" in sample.text and "Cliente1234" in sample.subject
    assert "-points_balance" not in sample.html + sample.text

    assert send_due_messages(app_state, now + timedelta(hours=1))["enqueued"] == 0
    assert len(sink.requests) == 3


def test_500_on_the_second_request_retries_only_its_rows_once(sg_app, sink, mail_send_validator):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    _queue_birthdays(app_state, shop_id, _customers(app_state, shop_id, 2500))
    sink.answer(202, 500, 202)
    now = utcnow() + timedelta(seconds=1)
    send_due_messages(app_state, now)
    first, failed, third = (set(_ids(b)) for b in sink.bodies())
    statuses = {r.message_id: (r.status, r.attempts) for r in _rows(app_state)}
    assert {statuses[m] for m in failed} == {("queued", 1)}
    assert {statuses[m] for m in first | third} == {("sent", 1)}

    assert send_due_messages(app_state, now + timedelta(seconds=10))["due"] == 0  # backoff (30 s)
    send_due_messages(app_state, now + timedelta(seconds=31))
    send_due_messages(app_state, now + timedelta(hours=2))
    assert len(sink.requests) == 4
    retried = set(_ids(sink.bodies()[3]))
    assert retried == failed
    delivered = [m for i, b in enumerate(sink.bodies()) if i != 1 for m in _ids(b)]
    assert len(delivered) == len(set(delivered)) == 2500  # no duplicates, nobody missing
    assert {(r.status, r.attempts) for r in _rows(app_state) if r.message_id in failed} == {("sent", 2)}
    validate_all(sink, mail_send_validator)


def test_consent_suppression_and_cap_are_checked_again_when_the_batch_is_claimed(sg_app, sink):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    ids = _customers(app_state, shop_id, 5)
    _queue_birthdays(app_state, shop_id, ids)
    now = utcnow() + timedelta(seconds=1)
    with app_state.db.transaction() as session:  # after queueing, before sending
        session.get(Customer, ids[0]).marketing_state = "UNSUBSCRIBED"
        session.add(EmailSuppression(shop_id=shop_id, email="c1@example.com", reason="bounce"))
        session.add(OutboxMessage(shop_id=shop_id, message_id="x" * 32, message_key="other", customer_id=ids[2],
                                  flow="referral_invite", marketing=True, locale="es", to_email="c2@example.com",
                                  status="sent", send_after=now - timedelta(hours=1),
                                  sent_at=now - timedelta(hours=1)))
    send_due_messages(app_state, now)
    assert len(sink.requests) == 1
    assert sorted(p["to"][0]["email"] for p in sink.requests[0]["body"]["personalizations"]) == \
        ["c3@example.com", "c4@example.com"]
    outcome = {r.to_email: (r.status, r.reason) for r in _rows(app_state) if r.flow == "birthday"}
    assert outcome == {"c0@example.com": ("suppressed", "no_consent"), "c1@example.com": ("suppressed", "bounce"),
                       "c2@example.com": ("suppressed", "frequency_cap"), "c3@example.com": ("sent", None),
                       "c4@example.com": ("sent", None)}


def test_recipients_whose_email_reads_differently_get_their_own_template_variant(sg_app, sink,
                                                                                  mail_send_validator):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    ids = _customers(app_state, shop_id, 3)
    with app_state.db.transaction() as session:
        session.get(Customer, ids[1]).first_name = None     # neutral greeting
        session.get(Customer, ids[2]).points_available = 1  # "1 punto", not "1 puntos"
    _queue_birthdays(app_state, shop_id, ids)
    send_due_messages(app_state, utcnow() + timedelta(seconds=1))
    assert len(sink.requests) == 3
    validate_all(sink, mail_send_validator)
    texts = {r.to_email: r for r in _rows(app_state)}
    assert texts["c1@example.com"].subject.startswith("¡Feliz cumpleaños! Tienes")
    assert "Tu saldo: 1 punto\n" in texts["c2@example.com"].text
    assert texts["c0@example.com"].subject.startswith("¡Feliz cumpleaños, Cliente0!")


def test_a_delayed_email_shows_the_balance_of_the_day_it_is_sent(sg_app, sink):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    customer_id = add_customer(app_state, shop_id, points=1200)
    later = utcnow() + timedelta(days=7)
    with app_state.db.transaction() as session:
        shop, customer = session.get(Shop, shop_id), session.get(Customer, customer_id)
        queue_email(session, shop=shop, flow="feedback_request", message_key="feedback:1", to_email=customer.email,
                    customer=customer, send_after=later,
                    context={"order_name": "#1001", "survey_type": "csat",
                             "survey_urls": [f"https://embajador.test/survey/t?score={i}" for i in range(1, 6)]})
        queue_email(session, shop=shop, flow="birthday", message_key="birthday:1", to_email=customer.email,
                    customer=customer, send_after=later, context={"birthday_points": 200})
    assert all("1.200" in r.text for r in _rows(app_state))  # what queue time knew
    with app_state.db.transaction() as session:
        session.get(Customer, customer_id).points_available = 4750
    send_due_messages(app_state, later + timedelta(seconds=1))
    send_due_messages(app_state, later + timedelta(days=2))  # the cap holds birthday a day
    assert len(sink.requests) == 2
    for request in sink.requests:
        body = request["body"]
        html = body["content"][1]["value"]
        subs = body["personalizations"][0].get("substitutions", {})
        assert "4.750" in html or subs.get("-points_balance-") == "4.750"
        assert "1.200" not in html and "1.200" not in subs.values()
    for row in _rows(app_state):
        assert row.status == "sent" and "Tu saldo: 4.750 puntos" in row.text and "1.200" not in row.html
    assert {r.message_id for r in _rows(app_state)} == {message_id_for(SHOP, "feedback:1"),
                                                         message_id_for(SHOP, "birthday:1")}


def test_stored_context_keeps_money_discounts_dates_and_cart_lines():
    import datetime as dt
    from decimal import Decimal

    from emails.content.context import CartItem
    from emails.content.formatting import Discount, Money
    from emails.content.stored_context import decode_context, encode_context
    context = {"cart_total": Money(Decimal("12500"), "CLP"), "discount": Discount("percentage", Decimal("10")),
               "expires_on": dt.date(2026, 12, 31), "survey_urls": ["https://a", "https://b"], "n": 3, "none": None,
               "items": [CartItem("Café", 2, Money(Decimal("6250"), "CLP"), None, "250 g")]}
    stored = encode_context("es-CL", context)
    assert decode_context(json.loads(json.dumps(stored))) == ("es-CL", context)
    assert encode_context("es", {"odd": object()}) is None  # kept at its queue-time rendering


def test_a_batch_whose_rows_end_in_different_states_reports_each_state(sg_app, sink):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    ids = _customers(app_state, shop_id, 3)
    _queue_birthdays(app_state, shop_id, ids)
    with app_state.db.transaction() as session:  # one row is on its last attempt
        last = session.execute(select(OutboxMessage).where(OutboxMessage.customer_id == ids[0])).scalar_one()
        last.attempts = MAX_ATTEMPTS - 1
    batch_key = _rows(app_state)[0].batch_key
    sink.answer(500)
    counts = send_outbox_batch(app_state, shop_id, "birthday", batch_key, utcnow() + timedelta(seconds=1))
    statuses = Counter(r.status for r in _rows(app_state))
    assert statuses == Counter({"queued": 2, "failed": 1})
    assert (counts["queued"], counts["failed"], counts["requests"]) == (2, 1, 1)  # not 3 of the first row's state
