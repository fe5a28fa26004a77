"""Attack 1: a signed App Proxy query repeating ``logged_in_customer_id`` (Shopify signs the
values joined by ",", a naive reader takes the first) must not reach another customer."""
from __future__ import annotations

import time

from tests.integration.security.conftest import member_with_points, points_of, proxy_query, setup_shop, signed_proxy_query
from tests.shopify_requests import SHOP

VICTIM, ATTACKER = "5005", "9999"


def _doubled(param: str, first: str, second: str) -> str:
    base = {"shop": SHOP, "path_prefix": "/apps/embajador", "timestamp": str(int(time.time())),
            "logged_in_customer_id": ATTACKER}
    pairs = [(k, v) for k, v in base.items() if k != param] + [(param, first), (param, second)]
    return signed_proxy_query(pairs)


def test_repeated_customer_id_reads_and_spends_nobody(client, app_state, fake_admin):
    setup_shop(app_state)
    member_with_points(app_state, client, VICTIM, 1000, "victim@example.com")
    query = _doubled("logged_in_customer_id", VICTIM, ATTACKER)
    read = client.get(f"/proxy/customer?{query}")
    assert read.status_code == 401
    assert "victim" not in read.get_data(as_text=True) and "1000" not in read.get_data(as_text=True)
    spend = client.post(f"/proxy/redeem?{query}", json={"reward_id": "5off"})
    assert spend.status_code == 401
    assert points_of(app_state, VICTIM) == 1000


def test_every_single_value_param_repeated_is_refused(client, app_state):
    setup_shop(app_state)
    for param, first, second in (("shop", SHOP, SHOP), ("timestamp", str(int(time.time())), "1"),
                                 ("path_prefix", "/apps/embajador", "/apps/other")):
        assert client.get(f"/proxy/customer?{_doubled(param, first, second)}").status_code == 401, param


def test_the_signed_customer_is_the_one_served(client, app_state):
    setup_shop(app_state)
    member_with_points(app_state, client, VICTIM, 1000, "victim@example.com")
    body = client.get(f"/proxy/customer?{proxy_query(VICTIM)}").get_json()
    assert body["points"]["available"] == 1000
