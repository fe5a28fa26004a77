"""Bodies that shoppers and merchants fully control: anything malformed is a 4xx, never a 500."""
from __future__ import annotations

import json

import pytest

from tests.integration.conftest import bearer, session_token
from tests.integration.loyalty.conftest import JON, proxy_params, setup_shop, shopper_with

NOT_OBJECTS = ["[1, 2]", "42", '"text"', "null", "{not json"]


@pytest.mark.parametrize("body", NOT_OBJECTS)
def test_redeem_with_a_body_that_is_not_an_object_is_400(client, app_state, fake_admin, body):
    setup_shop(app_state)
    shopper_with(app_state, client, 500)
    response = client.post("/proxy/redeem", query_string=proxy_params(JON), data=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("reward_id")
    assert fake_admin.discounts == []


@pytest.mark.parametrize("path,body", [
    (f"/api/customers/{JON}/adjust", "[1]"),
    (f"/api/customers/{JON}/adjust", json.dumps({"points": 10, "reason": ["not", "text"]})),
    ("/api/complaints/1/answer", "[1]"),
    ("/api/referrals/1/reject", json.dumps({"reason": {"x": 1}})),
])
def test_admin_endpoints_answer_400_to_malformed_bodies(client, app_state, path, body):
    setup_shop(app_state)
    shopper_with(app_state, client, 777)
    response = client.post(path, data=body, headers=dict(bearer(session_token()), **{"Content-Type": "application/json"}))
    assert response.status_code == 400
