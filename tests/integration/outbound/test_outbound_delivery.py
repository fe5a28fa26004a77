"""Outbound webhooks through the real app: the admin registers an endpoint, a points change
writes the event in its own transaction, RQ delivers it signed to a receiver on 127.0.0.1,
failures are retried with backoff from Postgres, and 3 days of failures disable the endpoint
and email the merchant."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from plugin.models import OutboundDelivery, OutboundEndpoint, OutboundEvent, OutboxMessage, utcnow
from plugin.outbound.delivery import deliver, sweep_deliveries
from tests.integration.conftest import run_worker
from tests.integration.outbound.outbound_support import (
    adjust,
    auth,
    register,
    shop_with_customer,
    start_receiver,
    verify_signature,
)
from tests.shopify_requests import SHOP


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


def deliveries(app_state) -> list[OutboundDelivery]:
    with app_state.db.transaction() as session:
        return session.execute(select(OutboundDelivery).order_by(OutboundDelivery.id)).scalars().all()


def test_a_points_change_reaches_the_endpoint_signed_through_rq(rq_app, receiver):
    app_state, client = rq_app.extensions["embajador"], rq_app.test_client()
    shop_with_customer(app_state)
    created = register(client, receiver.url(), ["points.changed", "tier.changed"])
    assert created.status_code == 201, created.get_data(as_text=True)
    secret = created.get_json()["secret"]
    assert secret.startswith("whsec_")

    adjust(client, 250)
    assert receiver.requests == []  # nothing is sent inside the request: RQ carries it
    run_worker(app_state)

    by_type = {r.event["type"]: r for r in receiver.requests}
    assert set(by_type) == {"points.changed", "tier.changed"}
    points = by_type["points.changed"]
    assert verify_signature(points.headers["embajador-signature"], points.body, secret)
    assert not verify_signature(points.headers["embajador-signature"], points.body + b" ", secret)
    assert not verify_signature(points.headers["embajador-signature"], points.body, "whsec_other")
    event = points.event
    assert event["shop"] == SHOP and event["type"] == "points.changed" and event["id"].startswith("evt_")
    assert event["data"]["customer"] == {"id": "7001", "email": "c7001@example.com"}
    assert event["data"]["entry"]["available"] == 250 and event["data"]["entry"]["kind"] == "adjust"
    assert event["data"]["balance"] == {"available": 250, "pending": 0}
    assert points.headers["embajador-event-id"] == event["id"]
    tier = by_type["tier.changed"].event["data"]
    assert tier["direction"] == "enter" and tier["previous_tier"] is None and tier["tier"] == "Bronce"

    listing = client.get("/api/webhooks", headers=auth()).get_json()
    (endpoint,) = listing["endpoints"]
    assert endpoint["last_delivery"]["last_status_code"] == 200
    assert endpoint["last_delivery"]["status"] == "delivered"
    assert endpoint["last_success_at"] is not None
    history = client.get("/api/webhooks/deliveries", headers=auth()).get_json()["deliveries"]
    assert {d["topic"] for d in history} == {"points.changed", "tier.changed"}
    assert all(d["status"] == "delivered" and d["attempts"] == 1 for d in history)


def test_losing_redis_loses_no_delivery(rq_app, receiver):
    app_state, client = rq_app.extensions["embajador"], rq_app.test_client()
    shop_with_customer(app_state)
    secret = register(client, receiver.url()).get_json()["secret"]
    adjust(client, 40)
    app_state.queue.connection.flushdb()  # Redis restarted empty before a worker ran
    run_worker(app_state)
    assert receiver.requests == []

    assert sweep_deliveries(app_state, utcnow())["enqueued"] == 1
    run_worker(app_state)
    (request,) = receiver.requests
    assert verify_signature(request.headers["embajador-signature"], request.body, secret)
    assert request.event["data"]["balance"]["available"] == 40


def test_a_failed_delivery_is_retried_with_backoff_and_the_same_event_id(rq_app, receiver):
    app_state, client = rq_app.extensions["embajador"], rq_app.test_client()
    shop_with_customer(app_state)
    secret = register(client, receiver.url()).get_json()["secret"]
    receiver.statuses = [500, 200]
    adjust(client, 10)
    run_worker(app_state)

    (row,) = deliveries(app_state)
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 500)
    assert row.last_error == "HTTP 500: receiver says no"
    first_try = row.last_attempt_at
    assert row.next_attempt_at == first_try + timedelta(minutes=1)

    assert sweep_deliveries(app_state, first_try + timedelta(seconds=30))["enqueued"] == 0  # not due yet
    assert sweep_deliveries(app_state, first_try + timedelta(minutes=1))["enqueued"] == 1
    run_worker(app_state)

    (row,) = deliveries(app_state)
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("delivered", 2, 200, None)
    first, second = receiver.requests
    assert first.event["id"] == second.event["id"] and first.body == second.body
    assert verify_signature(second.headers["embajador-signature"], second.body, secret)
    # a stale job for an attempt already made changes nothing
    assert deliver(app_state, row.id) == "skipped"
    assert len(receiver.requests) == 2


def test_three_days_of_failures_disable_the_endpoint_and_email_the_merchant(app, receiver):
    app_state, client = app.extensions["embajador"], app.test_client()
    shop_with_customer(app_state)  # merchant speaks Spanish
    register(client, receiver.url())
    receiver.statuses = [503]
    adjust(client, 10)  # in-process queue: first attempt right after the commit
    adjust(client, 20)
    (first, second) = deliveries(app_state)
    assert first.status == second.status == "pending"
    started = first.last_attempt_at

    assert deliver(app_state, first.id, started + timedelta(days=1)) == "retry"
    with app_state.db.transaction() as session:
        assert session.execute(select(OutboundEndpoint.enabled)).scalar_one() is True
    assert deliver(app_state, first.id, started + timedelta(days=3, minutes=1)) == "disabled"

    rows = deliveries(app_state)
    assert [r.status for r in rows] == ["failed", "cancelled"]
    endpoint = client.get("/api/webhooks", headers=auth()).get_json()["endpoints"][0]
    assert endpoint["enabled"] is False and endpoint["disabled_reason"].startswith("failing since")
    with app_state.db.transaction() as session:
        (mail,) = session.execute(select(OutboxMessage).where(
            OutboxMessage.flow == "webhook_endpoint_disabled")).scalars().all()
        assert mail.to_email == "duena@tienda.test"
        assert "3 días" in mail.subject and receiver.url() in mail.text

    calls = len(receiver.requests)
    adjust(client, 5)  # a disabled endpoint receives nothing new
    assert len(receiver.requests) == calls
    with app_state.db.transaction() as session:
        assert session.execute(select(OutboundEvent)).scalars().all().__len__() == 2

    receiver.statuses = [200]
    switched = client.patch(f"/api/webhooks/{endpoint['id']}", json={"enabled": True}, headers=auth())
    assert switched.get_json()["endpoint"]["failing_since"] is None
    adjust(client, 7)
    assert receiver.requests[-1].event["data"]["entry"]["available"] == 7


def test_endpoints_and_events_stay_inside_their_shop(app, receiver):
    app_state, client = app.extensions["embajador"], app.test_client()
    other = "otra-tienda.myshopify.com"
    shop_with_customer(app_state)
    shop_with_customer(app_state, domain=other, shopify_id="9001")
    mine = register(client, receiver.url("/mine")).get_json()["endpoint"]
    theirs = register(client, receiver.url("/theirs"), shop=other).get_json()["endpoint"]

    assert [e["id"] for e in client.get("/api/webhooks", headers=auth()).get_json()["endpoints"]] == [mine["id"]]
    assert client.patch(f"/api/webhooks/{theirs['id']}", json={"enabled": False}, headers=auth()).status_code == 404
    assert client.delete(f"/api/webhooks/{theirs['id']}", headers=auth()).status_code == 404
    assert client.post(f"/api/webhooks/{theirs['id']}/rotate-secret", headers=auth()).status_code == 404
    assert client.get(f"/api/webhooks/deliveries?endpoint_id={theirs['id']}", headers=auth()).get_json() == {
        "deliveries": []}

    adjust(client, 30)
    (request,) = receiver.requests
    assert request.event["shop"] == SHOP
    with app_state.db.transaction() as session:
        assert session.execute(select(OutboundDelivery.endpoint_id)).scalars().all() == [mine["id"]]
    assert client.get("/api/webhooks", headers=auth(other)).get_json()["endpoints"][0]["last_delivery"] is None


def test_bad_input_is_a_400_naming_the_field(app):
    app_state, client = app.extensions["embajador"], app.test_client()
    shop_with_customer(app_state)
    cases = [({"url": "http://127.0.0.1:9/x", "topics": ["points.exploded"]}, "topics"),
             ({"url": "http://127.0.0.1:9/x", "topics": []}, "topics"),
             ({"url": "ftp://127.0.0.1/x", "topics": ["points.changed"]}, "url"),
             ({"topics": ["points.changed"]}, "url"),
             ({"url": 12, "topics": ["points.changed"]}, "url")]
    for body, field in cases:
        response = client.post("/api/webhooks", json=body, headers=auth())
        assert response.status_code == 400, body
        assert response.get_json()["field"] == field
    assert client.get("/api/webhooks/deliveries?endpoint_id=x", headers=auth()).status_code == 400
    assert client.get("/api/webhooks/deliveries?endpoint_id=%C2%B2", headers=auth()).status_code == 400  # "²"
    assert client.post("/api/webhooks", headers=auth()).status_code == 400
    with app_state.db.transaction() as session:
        assert session.execute(select(OutboundEndpoint)).scalars().all() == []
