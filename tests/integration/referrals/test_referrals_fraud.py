"""Each fraud rule holds the referral with a reason the merchant can read; nothing is awarded."""
from __future__ import annotations

import pytest

from plugin.referrals.rules.fraud import VELOCITY_LIMIT
from tests.integration.referrals.conftest import (
    ADVOCATE,
    FRIEND,
    advocate_with_history,
    customer,
    events,
    friend_code_from,
    land,
    pay,
    referral_entries,
    referrals,
)
from tests.shopify_requests import post_webhook

OTHER_ADDRESS = {"address1": "Los Aromos 9", "city": "Concepción", "zip": "4030000", "country_code": "CL"}
CASES = {
    "self_referral": dict(ADVOCATE),                                             # she uses her own link
    "self_referral_by_email": dict(FRIEND, email="ValentinaRojas+amigos@googlemail.com"),
    "same_name": dict(FRIEND, first_name="valentina", last_name="ROJAS"),
    "same_address": dict(FRIEND, address={"address1": "av providencia  1234", "city": "SANTIAGO",
                                          "zip": "7500000", "country_code": "CL"}),
    "same_device": dict(FRIEND, ip=ADVOCATE["ip"], ua=ADVOCATE["ua"], address=OTHER_ADDRESS),
}


def assert_held(app_state, advocate_id: int, code: str) -> None:
    [referral] = referrals(app_state)
    assert referral.status == "held"
    assert code in [r["code"] for r in referral.hold_reasons]
    assert all(r["text"] for r in referral.hold_reasons)
    assert referral_entries(app_state, advocate_id) == []
    assert events(app_state, "referral_reward") == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_holds_the_referral(client, app_state, shop_fake, case):
    link = advocate_with_history(client, app_state)
    friend = CASES[case]
    pay(client, friend, codes=[friend_code_from(land(client, link["code"], friend))])
    assert_held(app_state, link["customer_id"], case.removesuffix("_by_email"))
    own_orders = 2 if case == "self_referral" else 1
    assert customer(app_state, link["customer_id"]).points_pending == 50 * own_orders  # no referral points


def test_advocate_clicking_her_own_link_for_someone_else_is_same_device(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    code = friend_code_from(land(client, link["code"], ADVOCATE))      # her phone makes the code
    pay(client, dict(FRIEND, ip="192.0.2.50"), codes=[code])            # a "friend" uses it elsewhere
    assert_held(app_state, link["customer_id"], "same_device")


def test_friend_with_earlier_paid_orders_is_not_new(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    pay(client, FRIEND)                                                  # bought before, no referral
    pay(client, FRIEND, codes=[friend_code_from(land(client, link["code"], FRIEND))])
    assert_held(app_state, link["customer_id"], "not_new_customer")


def test_shopify_number_of_orders_marks_a_customer_who_bought_before_install(client, app_state, shop_fake):
    # Order payloads lost orders_count in 2022-04: Shopify's Customer.numberOfOrders (this order
    # included) is read when the referral is decided.
    link = advocate_with_history(client, app_state)
    shop_fake.customers[str(FRIEND["id"])] = {"email": FRIEND["email"], "numberOfOrders": "4"}
    pay(client, FRIEND, codes=[friend_code_from(land(client, link["code"], FRIEND))])
    assert_held(app_state, link["customer_id"], "not_new_customer")
    assert shop_fake.operations("customer")  # asked Shopify, not the payload


def test_a_first_order_counted_by_shopify_is_a_new_customer(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    shop_fake.customers[str(FRIEND["id"])] = {"email": FRIEND["email"], "numberOfOrders": "1"}
    pay(client, FRIEND, codes=[friend_code_from(land(client, link["code"], FRIEND))])
    assert [r.status for r in referrals(app_state)] == ["successful"]


def test_velocity_holds_the_tenth_referral_from_one_ip(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    for n in range(VELOCITY_LIMIT):
        friend = dict(FRIEND, id=FRIEND["id"] + 100 + n, email=f"amigo{n}@example.cl", first_name=f"Amigo{n}",
                      ua=f"UA {n}", address=None)
        pay(client, friend, attrs=[("embajador_ref", link["code"])])
    statuses = [r.status for r in referrals(app_state)]
    assert statuses == ["successful"] * (VELOCITY_LIMIT - 1) + ["held"]
    assert [r["code"] for r in referrals(app_state)[-1].hold_reasons] == ["velocity"]
    assert len(referral_entries(app_state, link["customer_id"])) == VELOCITY_LIMIT - 1


def test_a_replayed_held_order_stays_held_and_unrewarded(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    code = friend_code_from(land(client, link["code"], ADVOCATE))
    payload = pay(client, ADVOCATE, codes=[code], event_id="evt-self")
    post_webhook(client, "orders/paid", payload, event_id="evt-self-again")
    pay(client, ADVOCATE, codes=[code])  # another order of hers: still the same (one) referral
    assert [r.status for r in referrals(app_state)] == ["held"]
    assert referral_entries(app_state, link["customer_id"]) == []
