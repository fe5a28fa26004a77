"""Refunds and cancellations take points back pro-rata, at the rate they were earned."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.integration.loyalty.conftest import assert_no_drift, customer, entries, outcomes, payable, recently, send, setup_shop
from tests.shopify_requests import fixture_payload

JON = "115310627314723954"


def refund_of_first_line() -> dict:
    refund = fixture_payload("refunds__create.json")
    refund["refund_line_items"] = refund["refund_line_items"][:1]  # 89.99 of 359.97
    return refund


def test_partial_refund_claws_back_pro_rata_from_pending_first(client, app_state):
    setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently()))
    send(client, "refunds/create", refund_of_first_line())
    clawback = entries(app_state, "clawback")[0]
    # floor(359 × 89.99 / 359.97) = 89, all from the order's still-pending points.
    assert (clawback.pending, clawback.available) == (-89, 0)
    jon = customer(app_state, JON)
    assert (jon.points_pending, jon.points_available) == (270, 100)  # tier bonus untouched
    assert_no_drift(app_state)


def test_refund_of_everything_returns_the_order_to_zero_and_replays_change_nothing(client, app_state):
    setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently()))
    send(client, "refunds/create", refund_of_first_line())
    full = fixture_payload("refunds__create.json")
    full["id"] = 890088186047892320
    send(client, "refunds/create", full, event_id="r2")
    send(client, "refunds/create", full, event_id="r2-again")
    order_points = [e.pending + e.available for e in entries(app_state) if e.order_id == "820982911946154508"]
    assert sum(order_points) == 0 and len(order_points) == 3
    assert customer(app_state, JON).points_pending == 0
    assert_no_drift(app_state)


def test_clawback_uses_the_earn_rate_not_todays_program(client, app_state):
    from plugin.loyalty.rules.program import default_program, dump_program
    from plugin.models import Shop
    shop_id = setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently()))
    with app_state.db.transaction() as session:  # the merchant doubles the rate afterwards
        doc = dump_program(default_program("USD"))
        doc["earn"]["points"] = 2
        session.get(Shop, shop_id).program = doc
    send(client, "refunds/create", refund_of_first_line())
    assert entries(app_state, "clawback")[0].pending == -89


def test_pos_refund_fixture_claws_back_its_merchandise_without_tax(client, app_state):
    setup_shop(app_state, currency="CAD")
    send(client, "orders/paid", payable(at=recently(), currency="CAD", id=6022498320664, source_name="pos"))
    send(client, "refunds/create", fixture_payload("refunds__create.pos_cad_real.json"))
    # 143.97 CAD of 359.97 refunded (its 17.28 tax was never rewarded): floor(359 × 143.97 / 359.97) = 143.
    assert entries(app_state, "clawback")[0].pending == -143
    assert_no_drift(app_state)


def test_cancellation_takes_everything_and_the_cancel_refund_takes_nothing_more(client, app_state):
    setup_shop(app_state, currency="CAD")
    order = payable(at=recently(), currency="CAD", id=5992405729560)
    send(client, "orders/paid", order)
    send(client, "orders/cancelled", dict(order, cancelled_at=recently(0).isoformat()))
    send(client, "refunds/create", fixture_payload("refunds__create.cancel_cad_real.json"))
    jon = customer(app_state, JON)
    assert jon.points_pending == 0
    assert [e.pending for e in entries(app_state, "clawback")] == [-359]
    assert outcomes(app_state, "refunds/create")[0][1]["reason"] == "nothing_to_claw_back"
    assert_no_drift(app_state)


def test_cancelled_first_then_a_stale_paid_delivery_never_awards(client, app_state):
    setup_shop(app_state)
    order = payable(at=recently())
    send(client, "orders/cancelled", dict(order, cancelled_at=recently(0).isoformat()))
    send(client, "orders/paid", order)
    assert entries(app_state, "earn") == []
    assert outcomes(app_state, "orders/paid")[0][1]["reason"] == "cancelled"


def test_refund_of_spent_points_stops_at_zero_and_records_the_shortfall(client, app_state):
    from plugin.loyalty.rules.program import default_program, dump_program
    earn = dict(dump_program(default_program("USD"))["earn"], pending_days=0)
    setup_shop(app_state, earn=earn, tiers=[])
    send(client, "orders/paid", payable(at=recently()))
    with app_state.db.transaction() as session:  # the shopper spent most of it already
        from plugin.loyalty.balances import lock_customer, post_entry
        from plugin.loyalty.rules.ledger import Entry
        jon = lock_customer(session, customer(app_state, JON).id)
        post_entry(session, jon, Entry("test:spend", "redeem", available=-300), reason="spent", source="test",
                   occurred_at=recently())
    send(client, "refunds/create", fixture_payload("refunds__create.json"))  # everything back
    jon = customer(app_state, JON)
    assert jon.points_available == 0
    outcome = outcomes(app_state, "refunds/create")[0][1]
    assert outcome["shortfall"] == 300 and outcome["points"] == -59
    assert "300 points already spent" in entries(app_state, "clawback")[0].reason
    assert_no_drift(app_state)


def test_refund_lowers_the_spend_tiers_count(client, app_state):
    from plugin.loyalty.status import customer_status
    from plugin.models import Shop, utcnow
    setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently()))
    send(client, "refunds/create", refund_of_first_line())
    with app_state.db.transaction() as session:
        from sqlalchemy import select

        from plugin.models import Customer
        jon = session.execute(select(Customer)).scalar_one()
        status = customer_status(session, session.execute(select(Shop)).scalar_one(), jon, utcnow())
        assert status.metrics["spend"] == Decimal("269.98")  # net of the refund


def full_refund_after_the_first_line() -> dict:
    full = fixture_payload("refunds__create.json")
    full["id"] = 890088186047892320
    return full


def ledger_of_the_order(app_state) -> list[tuple]:
    return [(e.key, e.kind, e.pending, e.available) for e in entries(app_state)]


PARTIAL_LEDGER = [("order:820982911946154508:earn", "earn", 359, 0),
                  ("customer:1:tier_bonus:Plata", "tier_bonus", 0, 100),
                  ("refund:890088186047892319:clawback", "clawback", -89, 0)]


@pytest.mark.parametrize("arrival", ["paid_first", "refund_first"])
def test_a_partial_refund_counts_in_either_order_of_arrival(client, app_state, arrival):
    setup_shop(app_state)
    paid = ("orders/paid", payable(at=recently()), "paid")
    refund = ("refunds/create", refund_of_first_line(), "refund")
    for topic, payload, event_id in ([paid, refund] if arrival == "paid_first" else [refund, paid]):
        send(client, topic, payload, event_id=event_id)
    assert ledger_of_the_order(app_state) == PARTIAL_LEDGER
    jon = customer(app_state, JON)
    assert (jon.points_pending, jon.points_available) == (270, 100)
    assert_no_drift(app_state)


@pytest.mark.parametrize("arrival", ["paid_first", "refunds_first", "paid_between"])
def test_a_full_refund_counts_in_any_order_of_arrival_and_replays_change_nothing(client, app_state, arrival):
    setup_shop(app_state)
    paid = ("orders/paid", payable(at=recently()), "paid")
    first = ("refunds/create", refund_of_first_line(), "r1")
    full = ("refunds/create", full_refund_after_the_first_line(), "r2")
    sequence = {"paid_first": [paid, first, full], "refunds_first": [first, full, paid],
                "paid_between": [first, paid, full]}[arrival]
    for topic, payload, event_id in sequence:
        send(client, topic, payload, event_id=event_id)
    for topic, payload, event_id in sequence:  # Shopify redelivers: nothing changes
        send(client, topic, payload, event_id=f"{event_id}-again")
    order_points = [e.pending + e.available for e in entries(app_state) if e.order_id == "820982911946154508"]
    assert sum(order_points) == 0 and len(order_points) == 3
    assert [e.key for e in entries(app_state, "clawback")] == ["refund:890088186047892319:clawback",
                                                               "refund:890088186047892320:clawback"]
    assert customer(app_state, JON).points_pending == 0
    assert_no_drift(app_state)


def test_a_cancellation_before_the_paid_order_and_its_refund_leave_no_points(client, app_state):
    setup_shop(app_state, currency="CAD")
    order = payable(at=recently(), currency="CAD", id=5992405729560)
    send(client, "refunds/create", fixture_payload("refunds__create.cancel_cad_real.json"))
    send(client, "orders/cancelled", dict(order, cancelled_at=recently(0).isoformat()))
    send(client, "orders/paid", order)
    assert entries(app_state, "earn") == [] and entries(app_state, "clawback") == []
    assert customer(app_state, JON).points_pending == 0
    assert outcomes(app_state, "orders/paid")[0][1]["reason"] == "cancelled"
