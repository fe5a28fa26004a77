"""Custom actions reach the storefront: the App Proxy payload's program lists them (the widget's
"ways to earn") and an awarded action shows in the shopper's activity under its id."""
from __future__ import annotations

from tests.integration.loyalty.conftest import proxy_params
from tests.integration.open_api.support import ANA, auth, create_key, shop_with_actions


def test_proxy_payload_lists_custom_actions_for_guests_and_members(client, app_state):
    shop_with_actions(app_state, client)
    guest = client.get("/proxy/customer", query_string=proxy_params()).get_json()
    custom = guest["program"]["actions"]["custom"]
    assert [(a["id"], a["points"]) for a in custom] == [("review", 50), ("photo_review", 80), ("instagram_follow", 20)]
    assert guest["points"] is None  # nothing personal for a guest
    key = create_key(client)
    assert client.post(f"/v1/customers/{ANA}/actions/instagram_follow", headers=auth(key, "ig")).status_code == 201
    member = client.get("/proxy/customer", query_string=proxy_params(ANA)).get_json()
    assert member["program"]["actions"]["custom"] == custom
    assert member["points"]["available"] == 120
    assert [(a["action"], a["points"]) for a in member["activity"][:1]] == [("instagram_follow", 20)]
