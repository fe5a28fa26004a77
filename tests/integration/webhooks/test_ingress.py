"""POST /webhooks as Shopify calls it: verified, stored once, processed by the worker."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from plugin.models import Customer, Shop, WebhookDelivery
from tests.integration.conftest import add_shop
from tests.shopify_requests import (
    SHOP,
    WEBHOOK_FIXTURES,
    consent_payload,
    fixture_body,
    post_webhook,
    topic_of,
    webhook_headers,
)


def shop_currency_of(body: bytes) -> str:
    """The shop currency a Shopify payload was written in (its shop_money amounts)."""
    found = re.search(rb'"shop_money":\s*\{[^}]*"currency_code":\s*"([A-Z]{3})"', body)
    return found.group(1).decode() if found else "USD"


def deliveries(app_state):
    with app_state.db.transaction() as session:
        return session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id)).scalars().all()


def test_bad_signature_is_401_and_nothing_is_stored(client, app_state):
    add_shop(app_state)
    body = fixture_body("customers__create.json")
    headers = webhook_headers(body, "customers/create", secret="not-the-app-secret")
    response = client.post("/webhooks", data=body, headers=headers)
    assert response.status_code == 401
    assert deliveries(app_state) == []


def test_missing_signature_is_401(client, app_state):
    add_shop(app_state)
    body = fixture_body("customers__create.json")
    headers = webhook_headers(body, "customers/create")
    del headers["X-Shopify-Hmac-Sha256"]
    assert client.post("/webhooks", data=body, headers=headers).status_code == 401
    assert deliveries(app_state) == []


def test_body_tampered_after_signing_is_rejected(client, app_state):
    add_shop(app_state)
    body = fixture_body("customers__create.json")
    headers = webhook_headers(body, "customers/create")
    response = client.post("/webhooks", data=body.replace(b"Bob", b"Eve"), headers=headers)
    assert response.status_code == 401
    assert deliveries(app_state) == []


def test_customers_create_becomes_a_customer_row(client, app_state):
    add_shop(app_state)
    response = post_webhook(client, "customers/create", fixture_body("customers__create.json"))
    assert response.status_code == 200
    with app_state.db.transaction() as session:
        customer = session.execute(select(Customer)).scalar_one()
        assert customer.shopify_id == "706405506930370084"  # > 2**53, exact
        assert customer.email == "bob@biller.com"
        assert customer.first_name == "Bob"
    assert [d.status for d in deliveries(app_state)] == ["processed"]


def test_duplicate_delivery_is_stored_once_and_applied_once(client, app_state):
    add_shop(app_state)
    body = fixture_body("customers__create.json")
    first = post_webhook(client, "customers/create", body, event_id="evt-1")
    second = post_webhook(client, "customers/create", body, event_id="evt-1")
    assert first.status_code == second.status_code == 200
    assert second.get_json()["status"] == "duplicate"
    assert len(deliveries(app_state)) == 1
    with app_state.db.transaction() as session:
        assert session.execute(select(func.count()).select_from(Customer)).scalar_one() == 1


def test_same_event_id_on_another_topic_is_a_different_delivery(client, app_state):
    add_shop(app_state)
    post_webhook(client, "customers/create", fixture_body("customers__create.json"), event_id="evt-7")
    post_webhook(client, "customers/update", fixture_body("customers__update.json"), event_id="evt-7")
    assert [d.topic for d in deliveries(app_state)] == ["customers/create", "customers/update"]


def test_without_event_id_the_webhook_id_dedupes(client, app_state):
    add_shop(app_state)
    body = fixture_body("customers__create.json")
    headers = webhook_headers(body, "customers/create")
    del headers["X-Shopify-Event-Id"]
    client.post("/webhooks", data=body, headers=headers)
    again = client.post("/webhooks", data=body, headers=headers)
    assert again.get_json()["status"] == "duplicate"
    assert len(deliveries(app_state)) == 1


def test_malformed_json_with_valid_hmac_is_recorded_as_failed_not_500(client, app_state):
    add_shop(app_state)
    response = post_webhook(client, "orders/paid", b'{"id": 1, "total_price": ')
    assert response.status_code == 200
    [delivery] = deliveries(app_state)
    assert delivery.status == "failed"
    assert "not valid JSON" in delivery.last_error


def test_json_that_is_not_an_object_is_recorded_as_failed(client, app_state):
    add_shop(app_state)
    response = post_webhook(client, "customers/create", b"[1, 2, 3]")
    assert response.status_code == 200
    assert deliveries(app_state)[0].status == "failed"


def test_customer_payload_without_id_fails_cleanly(client, app_state):
    add_shop(app_state)
    response = post_webhook(client, "customers/create", {"email": "x@example.com"})
    assert response.status_code == 200
    [delivery] = deliveries(app_state)
    assert delivery.status == "failed" and "integer id" in delivery.last_error


def test_unknown_shop_is_acknowledged_and_ignored(client, app_state):
    response = post_webhook(client, "customers/create", fixture_body("customers__create.json"),
                            shop="stranger.myshopify.com")
    assert response.status_code == 200
    [delivery] = deliveries(app_state)
    assert delivery.status == "ignored" and delivery.last_error == "unknown shop"
    with app_state.db.transaction() as session:
        assert session.execute(select(func.count()).select_from(Customer)).scalar_one() == 0


def test_uninstalled_shop_ignores_business_topics(client, app_state):
    add_shop(app_state, installed=False)
    post_webhook(client, "customers/create", fixture_body("customers__create.json"))
    assert deliveries(app_state)[0].status == "ignored"


def test_uninstalled_shop_still_stores_compliance_topics_as_pending(client, app_state):
    add_shop(app_state, installed=False)
    response = post_webhook(client, "customers/data_request", fixture_body("customers__data_request.json"))
    assert response.status_code == 200 and response.get_json()["status"] == "pending"


def test_a_pooled_connection_dropped_by_the_server_is_replaced(client, app_state, monkeypatch):
    """Postgres restarted (or a proxy cut idle connections) between two deliveries."""
    from sqlalchemy import create_engine, text

    import plugin.db
    add_shop(app_state)
    assert post_webhook(client, "customers/create", fixture_body("customers__create.json"), event_id="a").status_code == 200
    with app_state.db.engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(app_state.db.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    admin.dispose()
    monkeypatch.setattr(plugin.db, "PING_AFTER_IDLE_SECONDS", 0.0)
    response = post_webhook(client, "customers/create", fixture_body("customers__create.json"), event_id="b")
    assert response.status_code == 200 and response.get_json()["status"] == "pending"
    assert [d.dedupe_key for d in deliveries(app_state)] == ["event:a", "event:b"]


def test_every_pooled_connection_terminated_at_once_is_replaced_not_answered_500(client, app_state, monkeypatch):
    """The full chaos replay's one 5xx: all the app's Postgres backends terminated at once (a
    failover, pg_terminate_backend) while their connections sat in the pool for less than the
    idle ping's threshold. The store met AdminShutdown, replaced that one connection, and its
    retry took the next dead one from the pool. SQLAlchemy's own answer to a disconnect is to
    recycle every connection as old as the dead one; the store now does the same."""
    from sqlalchemy import create_engine, text

    import plugin.db
    add_shop(app_state)
    monkeypatch.setattr(plugin.db, "PING_AFTER_IDLE_SECONDS", 3600.0)  # no ping: used just now
    app_state.db.engine.dispose()
    with app_state.db.engine.connect() as one, app_state.db.engine.connect() as two:  # two in the pool
        pids = [c.execute(text("SELECT pg_backend_pid()")).scalar_one() for c in (one, two)]
    admin = create_engine(app_state.db.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for pid in pids:  # returns once the backend is gone (timeout in ms)
            assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar_one()
    admin.dispose()
    response = post_webhook(client, "customers/create", fixture_body("customers__create.json"), event_id="b")
    assert response.status_code == 200 and response.get_json()["status"] == "pending"
    assert [d.dedupe_key for d in deliveries(app_state)] == ["event:b"]


def test_a_nul_in_an_optional_header_is_dropped_not_answered_500(client, app_state):
    """The HMAC covers only the body, so anyone can put NUL in X-Shopify-Event-Id; Postgres text
    cannot hold it (found by the full hostile-input run)."""
    add_shop(app_state)
    body = fixture_body("customers__create.json")
    headers = webhook_headers(body, "customers/create") | {"X-Shopify-Event-Id": "ev\x00-1", "X-Shopify-Webhook-Id": "\x00"}
    response = client.post("/webhooks", data=body, headers=headers)
    assert response.status_code == 200 and response.get_json()["status"] == "pending"
    [delivery] = deliveries(app_state)
    assert delivery.dedupe_key == "event:ev-1"


def test_invalid_shop_header_is_400_and_not_stored(client, app_state):
    body = fixture_body("customers__create.json")
    headers = webhook_headers(body, "customers/create", shop="evil.example.com")
    assert client.post("/webhooks", data=body, headers=headers).status_code == 400
    assert deliveries(app_state) == []


@pytest.mark.parametrize("name", sorted(p.name for p in WEBHOOK_FIXTURES.glob("*.json")))
def test_every_real_fixture_is_accepted_exactly_once(client, app_state, name):
    # Compliance bodies name their shop ("{shop}.myshopify.com" in Shopify's sample), and
    # shop/redact only comes after uninstall: both are checked before anything is erased.
    body = fixture_body(name).replace(b"{shop}.myshopify.com", SHOP.encode())
    add_shop(app_state, currency=shop_currency_of(body), installed=topic_of(name) != "shop/redact")
    first = post_webhook(client, topic_of(name), body, event_id=f"evt-{name}")
    replay = post_webhook(client, topic_of(name), body, event_id=f"evt-{name}")
    assert first.status_code == 200 and first.get_json()["status"] == "pending"
    assert replay.status_code == 200 and replay.get_json()["status"] == "duplicate"
    [delivery] = deliveries(app_state)
    assert delivery.status in {"processed", "unhandled"}, delivery.last_error
    if topic_of(name) in ("customers/redact", "shop/redact"):
        assert delivery.payload is None  # the request itself carries the personal data being erased
    else:
        assert delivery.payload == body.decode()


def test_app_uninstalled_forgets_the_token(client, app_state):
    shop_id = add_shop(app_state)
    post_webhook(client, "app/uninstalled", fixture_body("app__uninstalled.json"))
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        assert shop.installed is False
        assert shop.access_token_enc is None and shop.refresh_token_enc is None
        assert shop.uninstalled_at is not None


def test_access_tokens_are_encrypted_at_rest(app_state):
    shop_id = add_shop(app_state)
    with app_state.db.transaction() as session:
        stored = session.get(Shop, shop_id).access_token_enc
    assert b"shpat_test" not in stored
    assert app_state.cipher.decrypt(stored) == "shpat_test"


def test_older_customer_update_never_overwrites_newer(client, app_state):
    add_shop(app_state)
    payload = json.loads(fixture_body("customers__update.json"))
    newer = dict(payload, updated_at="2026-01-02T00:00:00Z", first_name="Roberto")
    older = dict(payload, updated_at="2025-01-01T00:00:00Z", first_name="Bobby")
    post_webhook(client, "customers/update", newer)
    post_webhook(client, "customers/update", older)
    with app_state.db.transaction() as session:
        assert session.execute(select(Customer.first_name)).scalar_one() == "Roberto"


def test_marketing_consent_comes_from_its_own_topic(client, app_state):
    """customers/create carries no consent since API 2025-01; the consent topic (whose resource
    part is 33 characters long) does, and an older statement never wins."""
    add_shop(app_state)
    payload = json.loads(fixture_body("customers__create.json"))
    post_webhook(client, "customers/create", payload)
    with app_state.db.transaction() as session:
        assert session.execute(select(Customer.marketing_state)).scalar_one() == "NOT_SUBSCRIBED"
    response = post_webhook(client, "customers_email_marketing_consent/update",
                            consent_payload(payload["id"], payload["email"], "subscribed", "2026-01-02T00:00:00Z"))
    assert response.status_code == 200
    post_webhook(client, "customers_email_marketing_consent/update",
                 consent_payload(payload["id"], payload["email"], "unsubscribed", "2026-01-01T00:00:00Z"))
    with app_state.db.transaction() as session:
        assert session.execute(select(Customer.marketing_state)).scalar_one() == "SUBSCRIBED"
        assert [d.status for d in session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id)).scalars()] \
            == ["processed"] * 3


@pytest.mark.parametrize("body,headers", [
    (b'{"id": 1, "note": "\x00"}', {}),
    (b'{"id": 1}', {"X-Shopify-Event-Id": "e" * 128}),
    (b'{"id": 1}', {"X-Shopify-Webhook-Id": "w" * 128, "X-Shopify-Event-Id": ""}),
])
def test_odd_but_signed_deliveries_are_stored_not_500(client, app_state, body, headers):
    add_shop(app_state)
    response = client.post("/webhooks", data=body,
                           headers=webhook_headers(body, "orders/paid", **headers))
    assert response.status_code == 200
    assert len(deliveries(app_state)) == 1
    again = client.post("/webhooks", data=body, headers=webhook_headers(body, "orders/paid", **headers))
    if headers:
        assert again.get_json()["status"] == "duplicate"


@pytest.mark.parametrize("topic", ["x" * 100, "orders", "orders/paid; drop", "ORDERS/PAID"])
def test_a_topic_that_is_not_shaped_like_one_is_400_and_not_stored(client, app_state, topic):
    add_shop(app_state)
    body = fixture_body("customers__create.json")
    assert client.post("/webhooks", data=body, headers=webhook_headers(body, topic)).status_code == 400
    assert deliveries(app_state) == []
