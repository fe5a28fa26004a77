"""Spending points on reward codes, from the storefront through the App Proxy."""
from __future__ import annotations

import threading

from plugin.loyalty.redemption import ShopifyRefused, redeem_reward
from plugin.loyalty.rules.ledger import InsufficientPoints
from plugin.models import Redemption, utcnow
from tests.integration.loyalty.conftest import (
    JON,
    assert_no_drift,
    customer,
    entries,
    payable,
    proxy_params,
    recently,
    send,
    setup_shop,
    shopper_with,
)


def redemptions(app_state):
    with app_state.db.transaction() as session:
        from sqlalchemy import select
        return session.execute(select(Redemption).order_by(Redemption.id)).scalars().all()


def test_fifty_simultaneous_redemptions_for_one_reward_give_one_code(client, app_state, fake_admin):
    shop_id = setup_shop(app_state)
    customer_id = shopper_with(app_state, client, 500)
    barrier, results = threading.Barrier(50), []

    def attempt():
        barrier.wait()
        try:
            results.append(redeem_reward(app_state, shop_id, customer_id, "5off", utcnow()).code)
        except InsufficientPoints:
            results.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = [r for r in results if r != "refused"]
    assert len(results) == 50 and len(codes) == 1
    assert [d["code"] for d in fake_admin.discounts] == codes
    assert len(entries(app_state, "redeem")) == 1
    assert customer(app_state, JON).points_available == 0
    assert_no_drift(app_state)


def test_code_is_single_use_and_bound_to_the_shopper(client, app_state, fake_admin):
    shop_id = setup_shop(app_state)
    customer_id = shopper_with(app_state, client, 600)
    issued = redeem_reward(app_state, shop_id, customer_id, "5off", utcnow())
    discount = fake_admin.discounts[0]
    assert discount["code"] == issued.code and discount["usageLimit"] == 1
    assert discount["context"] == {"customers": {"add": [f"gid://shopify/Customer/{JON}"]}}
    assert discount["customerGets"]["value"]["discountAmount"]["amount"] == "5"
    assert issued.points_available == 100
    assert redemptions(app_state)[0].status == "issued"


def test_shopify_refusal_restores_the_points_and_keeps_the_error(client, app_state, fake_admin):
    shop_id = setup_shop(app_state)
    customer_id = shopper_with(app_state, client, 500)
    fake_admin.refuse.add("discountCodeBasicCreate")
    try:
        redeem_reward(app_state, shop_id, customer_id, "5off", utcnow())
    except ShopifyRefused:
        pass
    else:
        raise AssertionError("a refused code must not look issued")
    assert customer(app_state, JON).points_available == 500
    row = redemptions(app_state)[0]
    assert row.status == "failed" and "refused by the test" in row.error
    assert [e.kind for e in entries(app_state)][-2:] == ["redeem", "redeem_refund"]
    assert_no_drift(app_state)


def test_proxy_rejects_missing_stale_and_forged_signatures(client, app_state):
    setup_shop(app_state)
    good = proxy_params(JON)
    missing = {k: v for k, v in good.items() if k != "signature"}
    stale = proxy_params(JON, age=3600)
    forged = proxy_params(JON, secret="not-our-secret")
    tampered = dict(good, logged_in_customer_id="1")
    for params in (missing, stale, forged, tampered):
        response = client.get("/proxy/customer", query_string=params)
        assert response.status_code == 401
        assert "signature" in response.get_json()["error"]
    assert client.get("/proxy/customer", query_string=proxy_params(JON, shop="other.myshopify.com")).status_code == 401


def test_proxy_customer_shows_balance_tier_progress_and_rewards(client, app_state):
    setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently()))
    response = client.get("/proxy/customer", query_string=proxy_params(JON))
    assert response.status_code == 200
    body = response.get_json()
    assert {k: body["points"][k] for k in ("available", "pending")} == {"available": 100, "pending": 359}
    assert body["tier"] == {"name": "Plata"}
    assert body["next_tier"]["name"] == "Oro" and body["next_tier"]["metric"] == "referrals"
    assert body["currency"] == "USD" and body["customer"]["id"] == JON
    assert [(r["id"], r["cost"], r["affordable"]) for r in body["rewards"]] == [
        ("ship", 300, False), ("5off", 500, False), ("10pct", 1000, False)]
    assert body["referral"] is None or set(body["referral"]) >= {"code", "url"}


def test_proxy_spend_remaining_is_a_money_string(client, app_state):
    setup_shop(app_state)
    small = payable(at=recently(), subtotal_price_set={"shop_money": {"amount": "50.00", "currency_code": "USD"},
                                                       "presentment_money": {"amount": "50.00", "currency_code": "USD"}})
    send(client, "orders/paid", small)
    body = client.get("/proxy/customer", query_string=proxy_params(JON)).get_json()
    assert body["tier"] == {"name": "Bronce"}
    assert body["next_tier"]["remaining"] == "150.00"


def test_guest_gets_the_program_explainer_without_personal_data(client, app_state):
    setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently()))
    body = client.get("/proxy/customer", query_string=proxy_params("")).get_json()
    assert body["customer"] is None and body["points"] is None and body["referral"] is None
    assert body["program"]["earn"]["per_amount"] == "1.00"
    assert "jon" not in str(body).lower()


def test_proxy_redeem_answers_in_json_for_each_outcome(client, app_state, fake_admin):
    setup_shop(app_state)
    shopper_with(app_state, client, 800)
    redeem = lambda reward_id: client.post("/proxy/redeem", query_string=proxy_params(JON),  # noqa: E731
                                           json={"reward_id": reward_id})
    unknown = redeem("nope")
    assert unknown.status_code == 400 and "unknown reward" in unknown.get_json()["error"]
    too_dear = redeem("10pct")
    assert too_dear.status_code == 409 and too_dear.get_json()["available"] == 800
    ok = redeem("5off")
    assert ok.status_code == 200 and ok.get_json()["code"] == fake_admin.discounts[0]["code"]
    assert ok.get_json()["points"] == {"available": 300}
    fake_admin.refuse.add("discountCodeFreeShippingCreate")
    refused = redeem("ship")
    assert refused.status_code == 502 and "not spent" in refused.get_json()["error"]
    assert customer(app_state, JON).points_available == 300
    guest = client.post("/proxy/redeem", query_string=proxy_params(""), json={"reward_id": "5off"})
    assert guest.status_code == 401
    assert_no_drift(app_state)


def test_unused_expired_code_gives_points_back_when_the_reward_says_so(client, app_state, fake_admin):
    from datetime import timedelta

    from plugin.loyalty.rules.program import default_program, dump_program
    from tests.integration.loyalty.conftest import run_tick
    rewards = dump_program(default_program("USD"))["rewards"]
    rewards[0].update(refund_points_on_expiry=True, expires_in_days=7)
    shop_id = setup_shop(app_state, rewards=rewards)
    customer_id = shopper_with(app_state, client, 500)
    redeem_reward(app_state, shop_id, customer_id, rewards[0]["id"], utcnow())
    later = utcnow() + timedelta(days=8)
    run_tick(app_state, later)
    run_tick(app_state, later)
    assert customer(app_state, JON).points_available == 500
    assert redemptions(app_state)[0].status == "refunded"


def _crash_after_reserving(app_state, shop_id, customer_id, create_code: bool):
    """What a killed web worker leaves behind: transaction 1 committed, transaction 2 never ran."""
    from plugin.loyalty.redemption import _create_in_shopify, reserve
    from plugin.models import Customer, Shop
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        redemption = reserve(session, shop, customer_id, "5off", utcnow())
        shopify_id = session.get(Customer, customer_id).shopify_id
    if create_code:
        _create_in_shopify(app_state, shop, redemption, shopify_id, utcnow())
    return redemption.code


def test_redemption_interrupted_before_shopify_gives_the_points_back(client, app_state, fake_admin):
    from datetime import timedelta

    from plugin.loyalty.redemption import recover_interrupted_redemptions
    shop_id = setup_shop(app_state)
    customer_id = shopper_with(app_state, client, 500)
    _crash_after_reserving(app_state, shop_id, customer_id, create_code=False)
    assert customer(app_state, JON).points_available == 0
    assert recover_interrupted_redemptions(app_state, utcnow())["restored"] == 0  # may still be in flight
    later = utcnow() + timedelta(minutes=5)
    assert recover_interrupted_redemptions(app_state, later)["restored"] == 1
    assert recover_interrupted_redemptions(app_state, later) == {"issued": 0, "restored": 0, "retry": 0}
    assert customer(app_state, JON).points_available == 500
    assert redemptions(app_state)[0].status == "failed"
    assert fake_admin.discounts == []
    assert_no_drift(app_state)


def test_redemption_interrupted_after_shopify_created_the_code_is_issued(client, app_state, fake_admin):
    from datetime import timedelta

    from plugin.loyalty.redemption import recover_interrupted_redemptions
    shop_id = setup_shop(app_state)
    customer_id = shopper_with(app_state, client, 500)
    code = _crash_after_reserving(app_state, shop_id, customer_id, create_code=True)
    assert recover_interrupted_redemptions(app_state, utcnow() + timedelta(minutes=5))["issued"] == 1
    row = redemptions(app_state)[0]
    assert row.status == "issued" and row.code == code and row.discount_gid == fake_admin.discounts[0]["id"]
    assert customer(app_state, JON).points_available == 0  # the shopper's code exists: points stay spent
    assert len(fake_admin.discounts) == 1
    widget = client.get("/proxy/customer", query_string=proxy_params(JON)).get_json()
    assert [c["code"] for c in widget["codes"]] == [code]  # and the shopper can find it
    assert_no_drift(app_state)
