"""reward.redeemed and referral.completed reach the merchant's endpoint from the services
that cause them: a shopper redeems through the App Proxy, the merchant approves a held
referral in the admin; a Shopify refusal (points restored) announces no redemption."""
from __future__ import annotations

import pytest

from plugin.cli import embajador
from tests.integration.admin.admin_support import OTHER, auth, seed_shop
from tests.integration.loyalty.conftest import JON, proxy_params, setup_shop, shopper_with
from tests.integration.outbound.outbound_support import register, start_receiver, verify_signature


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


def test_a_redemption_is_announced_with_its_code(client, app_state, fake_admin, receiver):
    setup_shop(app_state)
    shopper_with(app_state, client, 600)
    secret = register(client, receiver.url(), ["reward.redeemed"]).get_json()["secret"]
    response = client.post("/proxy/redeem", query_string=proxy_params(JON), json={"reward_id": "5off"})
    assert response.status_code == 200, response.get_data(as_text=True)

    (request,) = receiver.requests
    assert verify_signature(request.headers["embajador-signature"], request.body, secret)
    data = request.event["data"]
    assert request.event["type"] == "reward.redeemed"
    assert data["redemption"]["code"] == response.get_json()["code"] == fake_admin.discounts[0]["code"]
    assert data["redemption"]["points_spent"] == 500 and data["balance"]["available"] == 100
    assert data["customer"]["id"] == JON


def test_a_refused_redemption_announces_nothing(client, app_state, fake_admin, receiver):
    setup_shop(app_state)
    shopper_with(app_state, client, 600)
    register(client, receiver.url(), ["reward.redeemed"])
    fake_admin.refuse.add("discountCodeBasicCreate")
    response = client.post("/proxy/redeem", query_string=proxy_params(JON), json={"reward_id": "5off"})
    assert response.status_code == 502
    assert receiver.requests == []


def test_approving_a_held_referral_announces_it(app, receiver):
    app_state, client = app.extensions["embajador"], app.test_client()
    seeded = seed_shop(app_state)
    register(client, receiver.url(), ["referral.completed", "points.changed"], shop=OTHER)
    approved = client.post(f"/api/referrals/{seeded.referral_id}/approve", json={}, headers=auth(OTHER))
    assert approved.status_code == 200, approved.get_data(as_text=True)

    by_type = {r.event["type"]: r.event for r in receiver.requests}
    referral = by_type["referral.completed"]
    assert referral["shop"] == OTHER
    assert referral["data"]["advocate"] == {"id": "900001", "email": "ana@otra.test"}
    assert referral["data"]["referral"]["friend_order_id"] == "800001"
    assert by_type["points.changed"]["data"]["entry"]["kind"] == "referral"


def test_the_cli_registers_an_endpoint_and_lists_its_deliveries(app, receiver):
    app_state = app.extensions["embajador"]
    seed_shop(app_state)
    runner = app.test_cli_runner()
    added = runner.invoke(embajador, ["webhooks", "add", "--shop", OTHER, "--url", receiver.url(),
                                      "--topic", "points.changed"])
    assert added.exit_code == 0, added.output
    secret = added.output.split("secret: ")[1].strip()
    adjusted = runner.invoke(embajador, ["points", "adjust", "--shop", OTHER, "--customer", "ana@otra.test",
                                         "--points", "5", "--reason", "review"])
    assert adjusted.exit_code == 0, adjusted.output
    (request,) = receiver.requests
    assert verify_signature(request.headers["embajador-signature"], request.body, secret)
    listed = runner.invoke(embajador, ["webhooks", "deliveries", "--shop", OTHER])
    assert "points.changed delivered attempts=1 http=200" in listed.output
    refused = runner.invoke(embajador, ["webhooks", "add", "--shop", OTHER, "--url", "http://10.0.0.1/"])
    assert refused.exit_code == 1 and "url: must be an https:// URL" in refused.output
