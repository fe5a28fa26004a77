"""The Admin GraphQL client: retries, throttling, token refresh, errors and logging."""
import logging

import pytest
import requests
from shopify_support import API_VERSION, ENDPOINT, SHOP, TOKEN, gql_ok, sent_json

from plugin.shopify.errors import ShopifyGraphQLError, ShopifyHTTPError, ShopifyThrottled, ShopifyUnauthorized, ShopifyUserError
from plugin.shopify.graphql import AdminClient

SHOP_QUERY = "query ShopName { shop { name } }"
MUTATION = ("mutation CreateRewardCode($input: DiscountCodeBasicInput!) {"
            " discountCodeBasicCreate(basicCodeDiscount: $input) { codeDiscountNode { id }"
            " userErrors { field code message } } }")


def throttled_body(requested=252, available=52.0, restore=50.0):
    return {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED",
                        "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
            "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                    "throttleStatus": {"maximumAvailable": 1000.0,
                                                       "currentlyAvailable": available,
                                                       "restoreRate": restore}}}}


def test_a_query_is_posted_to_the_pinned_version_with_the_shop_token(rsps, client):
    rsps.post(ENDPOINT, json=gql_ok({"shop": {"name": "Tienda"}}))
    data = client.execute(SHOP_QUERY, {"unused": "1"})
    assert data == {"shop": {"name": "Tienda"}}
    request = rsps.calls[0].request
    assert request.url == f"https://{SHOP}/admin/api/2026-10/graphql.json"
    assert request.headers["X-Shopify-Access-Token"] == TOKEN
    assert sent_json(rsps.calls[0]) == {"query": SHOP_QUERY, "variables": {"unused": "1"}}
    assert client.last_cost["actualQueryCost"] == 10


def test_admin_origin_redirects_server_calls_to_a_local_fake(rsps, sleeps):
    rsps.post(f"http://127.0.0.1:8900/admin/api/{API_VERSION}/graphql.json", json=gql_ok({"ok": True}))
    local = AdminClient(SHOP, API_VERSION, lambda: TOKEN, admin_origin="http://127.0.0.1:8900/",
                        sleep=sleeps)
    assert local.execute(SHOP_QUERY) == {"ok": True}


def test_a_throttled_call_waits_for_the_bucket_to_refill_then_succeeds(rsps, client, sleeps):
    rsps.post(ENDPOINT, json=throttled_body(requested=252, available=52.0, restore=50.0))
    rsps.post(ENDPOINT, json=gql_ok({"shop": {"name": "Tienda"}}))
    assert client.execute(SHOP_QUERY) == {"shop": {"name": "Tienda"}}
    assert sleeps == [4.0]  # (252 - 52) points / 50 points per second
    assert len(rsps.calls) == 2


def test_http_429_honours_retry_after(rsps, client, sleeps):
    rsps.post(ENDPOINT, status=429, headers={"Retry-After": "2.5"}, body="Too Many Requests")
    rsps.post(ENDPOINT, json=gql_ok({"ok": True}))
    assert client.execute(SHOP_QUERY) == {"ok": True}
    assert sleeps == [2.5]


def test_still_throttled_after_every_retry_raises_so_the_job_is_rescheduled(rsps, sleeps):
    limited = AdminClient(SHOP, API_VERSION, lambda: TOKEN, sleep=sleeps, max_retries=2)
    for _ in range(3):
        rsps.post(ENDPOINT, json=throttled_body(requested=100, available=0.0, restore=50.0))
    with pytest.raises(ShopifyThrottled) as err:
        limited.execute(SHOP_QUERY)
    assert err.value.retry_after == 2.0
    assert sleeps == [2.0, 2.0]


def test_a_nearly_empty_bucket_pauses_before_the_next_call(rsps, client, sleeps):
    rsps.post(ENDPOINT, json=gql_ok({"n": 1}, available=20.0))  # low water = 10% of 1000
    rsps.post(ENDPOINT, json=gql_ok({"n": 2}, available=990.0))
    rsps.post(ENDPOINT, json=gql_ok({"n": 3}, available=990.0))
    client.execute(SHOP_QUERY)
    assert sleeps == []
    client.execute(SHOP_QUERY)
    assert sleeps == [1.6]  # (100 - 20) / 50 before the second call
    client.execute(SHOP_QUERY)
    assert sleeps == [1.6]  # bucket healthy again: no pause


def test_a_bad_gateway_is_retried_with_backoff(rsps, client, sleeps):
    rsps.post(ENDPOINT, status=502, body="<html>Bad Gateway</html>")
    rsps.post(ENDPOINT, json=gql_ok({"shop": {"name": "Tienda"}}))
    assert client.execute(SHOP_QUERY) == {"shop": {"name": "Tienda"}}
    assert sleeps == [1.0]


def test_a_connection_failure_is_retried(rsps, client, sleeps):
    rsps.post(ENDPOINT, body=requests.ConnectionError("reset"))
    rsps.post(ENDPOINT, json=gql_ok({"ok": True}))
    assert client.execute(SHOP_QUERY) == {"ok": True}
    assert sleeps == [1.0]


def test_persistent_outage_gives_up_after_max_retries_with_exponential_backoff(rsps, client, sleeps):
    for _ in range(5):
        rsps.post(ENDPOINT, status=503, body="Service Unavailable")
    with pytest.raises(ShopifyHTTPError) as err:
        client.execute(SHOP_QUERY)
    assert err.value.status == 503
    assert sleeps == [1.0, 2.0, 4.0, 8.0]
    assert len(rsps.calls) == 5


def test_a_mutation_is_not_resent_after_an_ambiguous_500(rsps, client, sleeps):
    rsps.post(ENDPOINT, status=500, body="Internal Server Error")
    with pytest.raises(ShopifyHTTPError) as err:
        client.execute(MUTATION, {"input": {}})
    assert err.value.status == 500
    assert len(rsps.calls) == 1 and sleeps == []  # never two discount codes for one redemption


def test_a_mutation_is_not_resent_after_a_read_timeout(rsps, client, sleeps):
    rsps.post(ENDPOINT, body=requests.ReadTimeout("slow"))
    with pytest.raises(ShopifyHTTPError):
        client.execute(MUTATION, {"input": {}})
    assert len(rsps.calls) == 1 and sleeps == []


def test_a_query_read_timeout_is_retried(rsps, client, sleeps):
    rsps.post(ENDPOINT, body=requests.ReadTimeout("slow"))
    rsps.post(ENDPOINT, json=gql_ok({"ok": True}))
    assert client.execute(SHOP_QUERY) == {"ok": True}


def test_an_expired_token_is_refreshed_once_and_the_call_retried(rsps, sleeps):
    refreshes = []

    def refresh():
        refreshes.append(1)
        return "shpat_fresh_token"

    client = AdminClient(SHOP, API_VERSION, lambda: TOKEN, on_unauthorized=refresh, sleep=sleeps)
    rsps.post(ENDPOINT, status=401, json={"errors": "[API] Invalid API key or access token"})
    rsps.post(ENDPOINT, json=gql_ok({"ok": True}))
    rsps.post(ENDPOINT, json=gql_ok({"ok": True}))
    assert client.execute(SHOP_QUERY) == {"ok": True}
    assert refreshes == [1]
    assert rsps.calls[0].request.headers["X-Shopify-Access-Token"] == TOKEN
    assert rsps.calls[1].request.headers["X-Shopify-Access-Token"] == "shpat_fresh_token"
    client.execute(SHOP_QUERY)  # later calls keep the fresh token
    assert rsps.calls[2].request.headers["X-Shopify-Access-Token"] == "shpat_fresh_token"


def test_a_revoked_token_raises_unauthorized_after_one_refresh(rsps, sleeps):
    refreshes = []
    client = AdminClient(SHOP, API_VERSION, lambda: TOKEN, sleep=sleeps,
                         on_unauthorized=lambda: refreshes.append(1) or "shpat_also_revoked")
    rsps.post(ENDPOINT, status=401, body=f"bad token {TOKEN}")
    rsps.post(ENDPOINT, status=401, body="bad token shpat_also_revoked")
    with pytest.raises(ShopifyUnauthorized) as err:
        client.execute(SHOP_QUERY)
    assert refreshes == [1]
    assert "shpat_also_revoked" not in str(err.value)
    assert err.value.status == 401


def test_unauthorized_without_a_refresher_raises_and_never_echoes_the_token(rsps, client):
    rsps.post(ENDPOINT, status=401, body=f'{{"errors":"token {TOKEN} is invalid"}}')
    with pytest.raises(ShopifyUnauthorized) as err:
        client.execute(SHOP_QUERY)
    assert TOKEN not in str(err.value)
    assert "[redacted]" in str(err.value)


def test_forbidden_is_not_retried(rsps, client, sleeps):
    rsps.post(ENDPOINT, status=403, body="Forbidden")
    with pytest.raises(ShopifyHTTPError) as err:
        client.execute(SHOP_QUERY)
    assert err.value.status == 403 and sleeps == []


def test_graphql_errors_are_raised_with_their_codes(rsps, client):
    rsps.post(ENDPOINT, json={"errors": [{"message": "Access denied for shopLocales field.",
                                          "extensions": {"code": "ACCESS_DENIED"}}]})
    with pytest.raises(ShopifyGraphQLError) as err:
        client.execute(SHOP_QUERY)
    assert err.value.codes == {"ACCESS_DENIED"}
    assert "Access denied for shopLocales field. (ACCESS_DENIED)" in str(err.value)


def test_a_non_json_answer_is_an_http_error_not_a_crash(rsps, client):
    rsps.post(ENDPOINT, body="<html>maintenance</html>", status=200)
    with pytest.raises(ShopifyHTTPError) as err:
        client.execute(SHOP_QUERY)
    assert "not JSON" in str(err.value)


def test_mutation_user_errors_surface_with_field_paths(rsps, client):
    rsps.post(ENDPOINT, json=gql_ok({"discountCodeBasicCreate": {
        "codeDiscountNode": None,
        "userErrors": [{"field": ["basicCodeDiscount", "code"], "code": "TAKEN",
                        "message": "Code must be unique. Please try a different code."}]}}))
    with pytest.raises(ShopifyUserError) as err:
        client.mutate(MUTATION, {"input": {}}, "discountCodeBasicCreate")
    assert err.value.codes == {"TAKEN"}
    assert str(err.value) == ("discountCodeBasicCreate rejected: basicCodeDiscount.code: "
                              "Code must be unique. Please try a different code.")


def test_mutate_returns_the_payload_when_shopify_accepts(rsps, client):
    payload = {"codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/1"}, "userErrors": []}
    rsps.post(ENDPOINT, json=gql_ok({"discountCodeBasicCreate": payload}))
    assert client.mutate(MUTATION, {"input": {}}, "discountCodeBasicCreate") == payload


def test_logs_name_shop_operation_and_cost_but_never_tokens_or_variables(rsps, client, caplog):
    rsps.post(ENDPOINT, json=gql_ok({"ok": True}))
    caplog.set_level(logging.DEBUG, logger="plugin.shopify")
    client.execute("query LookupCustomer($email: String!) { customers(first: 1, query: $email) { nodes { id } } }",
                   {"email": "ana@example.cl"})
    text = caplog.text
    assert f"shop={SHOP}" in text and "operation=LookupCustomer" in text and "cost=10" in text
    assert TOKEN not in text and "ana@example.cl" not in text


@pytest.mark.parametrize("shop, version", [("evil.com", "2025-10"), (SHOP, "latest"), (SHOP, "")])
def test_the_client_refuses_a_bad_shop_or_version_before_any_call(shop, version):
    with pytest.raises(ValueError):
        AdminClient(shop, version, lambda: TOKEN)


def test_the_default_session_uses_timeouts(monkeypatch):
    seen = {}

    def fake_post(self, url, **kwargs):
        seen.update(kwargs)
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"data": {"ok": true}}'
        return response

    monkeypatch.setattr(requests.Session, "post", fake_post)
    AdminClient(SHOP, API_VERSION, lambda: TOKEN).execute(SHOP_QUERY)
    assert seen["timeout"] == (3.05, 20)
