"""Points for paid orders, replayed through POST /webhooks like Shopify sends them."""
from __future__ import annotations

from rq import Queue, SimpleWorker

from plugin.jobs.queue import QUEUE_NAME
from tests.integration.loyalty.conftest import assert_no_drift, customer, entries, outcomes, payable, recently, send, setup_shop

JON = "115310627314723954"


def test_paid_order_earns_pending_points_at_the_program_rate(client, app_state):
    setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently()))
    jon = customer(app_state, JON)
    earn = entries(app_state, "earn")[0]
    # 359.97 USD of merchandise at 1 point per 1.00 USD, floored; pending for 14 days.
    assert (earn.pending, earn.available, earn.order_id) == (359, 0, "820982911946154508")
    assert jon.points_pending == 359
    # Spend of 359.97 passes Plata's 200.00 threshold: tier-up with its 100 entry points.
    assert jon.tier_name == "Plata" and jon.points_available == 100
    assert_no_drift(app_state)


def test_the_docs_fixture_as_sent_is_cancelled_and_earns_nothing(client, app_state):
    from tests.shopify_requests import fixture_payload
    setup_shop(app_state)
    send(client, "orders/paid", fixture_payload("orders__paid.json"))
    assert entries(app_state, "earn") == []
    # its buyer_accepts_marketing: true still subscribes Jon (consent points, never order points)
    assert [e.kind for e in entries(app_state)] == ["action"]
    assert outcomes(app_state)[0][1]["reason"] == "cancelled"


def test_same_order_twice_and_on_other_topics_awards_once(client, app_state):
    setup_shop(app_state)
    order = payable(at=recently())
    send(client, "orders/updated", order)
    send(client, "orders/create", order)
    send(client, "orders/paid", order, event_id="evt-paid")
    send(client, "orders/paid", order, event_id="evt-paid-retry-with-new-id")
    send(client, "orders/fulfilled", order)
    assert [e.pending for e in entries(app_state, "earn")] == [359]
    assert customer(app_state, JON).points_pending == 359
    reasons = [o.get("reason") for _, o in outcomes(app_state)]
    assert reasons == ["not_earn_trigger", "not_earn_trigger", None, "already_awarded", "not_earn_trigger"]
    assert_no_drift(app_state)


def test_tier_multiplier_at_order_time_is_used_and_stored(client, app_state):
    setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently(2)))
    second = payable(at=recently(1), id=820982911946154599, name="#9999")
    send(client, "orders/paid", second)
    later = entries(app_state, "earn")[1]
    # Now Plata (× 1.25): floor(359.97 × 1.25) = 449.
    assert later.pending == 449 and str(later.multiplier) == "1.2500"
    assert_no_drift(app_state)


def test_pos_order_earns_like_an_online_one_in_shop_currency(client, app_state):
    setup_shop(app_state, currency="CAD")
    send(client, "orders/paid", payable(at=recently(), currency="CAD", id=6022498320664, source_name="pos",
                                        name="#POS1"))
    earn = entries(app_state, "earn")[0]
    assert earn.pending == 359 and earn.currency == "CAD"
    assert "POS order #POS1" in earn.reason


def test_guest_checkout_is_credited_to_the_customer_with_that_email(client, app_state):
    setup_shop(app_state)
    send(client, "customers/create", {"id": 555, "email": "Jon@Example.com", "first_name": "Jon",
                                      "updated_at": recently(3).isoformat()})
    send(client, "orders/paid", payable(at=recently(), customer=None))
    jon = customer(app_state, "555")
    assert jon.points_pending == 359
    assert [e.customer_id for e in entries(app_state, "earn")] == [jon.id]


def test_order_without_any_customer_is_ignored_with_a_reason(client, app_state):
    setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently(), customer=None, email=None, contact_email=None))
    assert entries(app_state) == []
    status, outcome = outcomes(app_state)[0]
    assert status == "processed" and outcome["reason"] == "no_customer"


def test_program_earning_on_orders_create_awards_there_and_not_on_paid(client, app_state):
    from plugin.loyalty.rules.program import default_program, dump_program
    earn = dump_program(default_program("USD"))["earn"]
    setup_shop(app_state, earn=dict(earn, on="orders/create"))
    order = payable(at=recently())
    send(client, "orders/paid", order)
    assert entries(app_state, "earn") == []
    send(client, "orders/create", order)
    assert [e.pending for e in entries(app_state, "earn")] == [359]


def test_signup_points_once_per_customer_with_a_welcome_event(client, app_state):
    from tests.integration.loyalty.conftest import events
    from tests.shopify_requests import fixture_payload
    setup_shop(app_state)
    payload = fixture_payload("customers__create.json")
    send(client, "customers/create", payload, event_id="a")
    send(client, "customers/create", payload, event_id="b")
    bob = customer(app_state, "706405506930370084")
    assert [e.available for e in entries(app_state, "action")] == [100]
    assert [e.data for e in events(app_state, "welcome")] == [{"signup_points": 100}]
    assert bob.points_available == 100


def test_orders_paid_through_a_real_rq_worker(rq_app):
    app_state = rq_app.extensions["embajador"]
    setup_shop(app_state)
    client = rq_app.test_client()
    order = payable(at=recently())
    send(client, "orders/paid", order, event_id="one")
    send(client, "orders/paid", order, event_id="two")
    assert entries(app_state) == []  # nothing before the worker runs
    connection = app_state.queue.connection
    SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(burst=True)
    assert [e.pending for e in entries(app_state, "earn")] == [359]
    assert [s for s, _ in outcomes(app_state)] == ["processed", "processed"]
    assert_no_drift(app_state)


def test_fulfilment_records_the_event_the_feedback_email_waits_for(client, app_state):
    from tests.integration.loyalty.conftest import events
    setup_shop(app_state)
    order = payable(at=recently(), customer_locale="es-CL", closed_at="2026-11-20T10:00:00-03:00")
    send(client, "orders/fulfilled", order, event_id="f1")
    send(client, "orders/fulfilled", order, event_id="f2")
    fulfilled = events(app_state, "order_fulfilled")
    assert [e.data for e in fulfilled] == [{"order_id": "820982911946154508", "order_name": order["name"],
                                            "fulfilled_at": "2026-11-20T10:00:00-03:00", "locale": "es-CL"}]
    assert fulfilled[0].key == "order:820982911946154508:fulfilled" and len(fulfilled) == 1
    assert entries(app_state, "earn") == []  # the default program earns on orders/paid


def test_data_request_export_carries_the_ledger_and_redact_keeps_the_points(client, app_state):
    from tests.shopify_requests import SHOP, fixture_payload
    setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently()))
    request = fixture_payload("customers__data_request.json")
    request["customer"].update(id=int(JON), email="jon@example.com")
    request["shop_domain"] = SHOP  # the body must name the shop the header names
    send(client, "customers/data_request", request)
    from sqlalchemy import select

    from plugin.models import CustomerDataExport
    with app_state.db.transaction() as session:
        export = session.execute(select(CustomerDataExport)).scalar_one()
        kinds = [row["kind"] for row in export.data["ledger"]]
    assert kinds == ["earn", "tier_bonus"]
    redact = fixture_payload("customers__redact.json")
    redact["customer"].update(id=int(JON), email="jon@example.com")
    redact["shop_domain"] = SHOP
    send(client, "customers/redact", redact)
    jon = customer(app_state, JON)
    assert jon.email is None and jon.points_pending == 359
    assert_no_drift(app_state)
