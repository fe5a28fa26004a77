"""Attack 3: after customers/redact the database still held the person: a referred friend's
first name in the advocate's events and rendered emails, and a guest's email, name, cart and
recovery URL in checkouts/create and orders/create deliveries. Each test redacts one person
and then searches every text/JSON column of every table for anything that identifies them."""
from __future__ import annotations

import json

from sqlalchemy import text

from plugin.lifecycle.dispatch import dispatch_events
from plugin.models import Base, utcnow
from tests.integration.referrals.conftest import FRIEND, advocate_with_history, events, friend_code_from, land, pay
from tests.shopify_requests import SHOP, fixture_body, fixture_payload, post_webhook

GUEST = {"email": "gaspar.invitado@example.cl", "first_name": "Gaspar", "last_name": "Invitado",
         "address1": "Pasaje Secreto 9", "phone": "+56 9 8765 4321"}


def _remaining(app_state, markers) -> list[str]:
    """``table.column: marker`` for every stored value that still contains a marker."""
    found = []
    with app_state.db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.c:
                if not str(column.type).upper().startswith(("VARCHAR", "TEXT", "JSON")):
                    continue
                for marker in markers:
                    query = text(f'SELECT count(*) FROM "{table.name}" WHERE CAST("{column.name}" AS TEXT) ILIKE :m')
                    hits = session.execute(query, {"m": f"%{marker}%"}).scalar()
                    if hits:
                        found.append(f"{table.name}.{column.name}: {marker}")
    return found


def _redact(client, customer_id, email, phone=None):
    body = fixture_payload("customers__redact.json")
    body.update(shop_domain=SHOP, customer={"id": customer_id, "email": email, "phone": phone})
    response = post_webhook(client, "customers/redact", json.dumps(body, default=str).encode())
    assert response.status_code == 200


def test_a_redacted_friend_leaves_no_trace_in_the_advocates_events_and_emails(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    code = friend_code_from(land(client, link["code"], FRIEND))
    pay(client, FRIEND, codes=[code])
    [reward] = events(app_state, "referral_reward")
    assert reward.data["friend_first_name"] == "Martina"
    dispatch_events(app_state, utcnow())  # the advocate's "Martina bought with your link" email
    markers = (FRIEND["email"], FRIEND["first_name"], FRIEND["last_name"], FRIEND["address"]["address1"])
    assert any(FRIEND["first_name"] in hit for hit in _remaining(app_state, markers))
    _redact(client, FRIEND["id"], FRIEND["email"])
    assert _remaining(app_state, markers) == []


def _guest_body(name: str) -> bytes:
    raw = fixture_body(name).decode()
    for old, new in (("example@email.com", GUEST["email"]), ("john@example.com", GUEST["email"]),
                     ("bob@biller.com", GUEST["email"]), ("John", GUEST["first_name"]),
                     ("Bob", GUEST["first_name"]), ("Smith", GUEST["last_name"]), ("Biller", GUEST["last_name"]),
                     ("123 Billing Street", GUEST["address1"]), ("123 Shipping Street", GUEST["address1"]),
                     ("123 Elm St.", GUEST["address1"]), ("555-555-BILL", GUEST["phone"]),
                     ("555-555-SHIP", GUEST["phone"]), ("123-123-1234", GUEST["phone"])):
        raw = raw.replace(old, new)
    payload = json.loads(raw)
    payload["customer"] = None  # a guest checkout: Shopify sends no customer
    payload["email"] = GUEST["email"]
    return json.dumps(payload).encode()


def test_a_redacted_guest_leaves_no_checkout_order_or_delivery_behind(client, app_state, shop_fake):
    for topic, name in (("checkouts/create", "checkouts__create.json"), ("orders/create", "orders__create.json")):
        assert post_webhook(client, topic, _guest_body(name)).status_code == 200
    markers = tuple(GUEST.values())
    assert _remaining(app_state, markers)  # the deliveries (and the checkout) hold the guest
    _redact(client, None, GUEST["email"], GUEST["phone"])
    assert _remaining(app_state, markers) == []
