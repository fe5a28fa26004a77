"""Install (authorization code), embedded token exchange and refresh of expiring offline tokens."""
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from plugin.shopify.errors import ShopifyHTTPError, ShopifyOAuthError
from plugin.shopify.oauth import TokenSet, authorize_url, exchange_code, exchange_session_token, refresh_access_token

SHOP = "tienda-mx.myshopify.com"
TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"
API_KEY = "client-id-123"
SECRET = "client-secret-xyz-0123456789abcdef"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EXPIRING_RESPONSE = {"access_token": "shpat_new", "scope": "read_orders,write_discounts",
                     "expires_in": 3600, "refresh_token": "shprt_new",
                     "refresh_token_expires_in": 7776000}


def body_of(call):
    return json.loads(call.request.body)


def test_the_merchant_is_sent_to_the_real_shop_to_grant_offline_access():
    url = authorize_url("https://Tienda-MX.myshopify.com/admin", API_KEY,
                        ["read_orders", "write_discounts"], "https://app.example/auth/callback", "n0nce")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", SHOP, "/admin/oauth/authorize")
    assert parse_qs(parts.query) == {"client_id": [API_KEY], "scope": ["read_orders,write_discounts"],
                                     "redirect_uri": ["https://app.example/auth/callback"],
                                     "state": ["n0nce"]}
    assert "grant_options" not in parts.query  # offline, not per-user


def test_authorize_url_refuses_a_shop_that_is_not_a_store():
    with pytest.raises(ValueError):
        authorize_url("evil.com", API_KEY, "read_orders", "https://app.example/cb", "s")


def test_the_install_code_is_exchanged_for_an_expiring_offline_token(rsps):
    rsps.post(TOKEN_URL, json=EXPIRING_RESPONSE)
    tokens = exchange_code(SHOP, "the-code", API_KEY, SECRET, now=NOW)
    assert body_of(rsps.calls[0]) == {"client_id": API_KEY, "client_secret": SECRET,
                                      "code": "the-code", "expiring": "1"}
    assert tokens == TokenSet(access_token="shpat_new", scope="read_orders,write_discounts",
                              expires_at=NOW + timedelta(hours=1), refresh_token="shprt_new",
                              refresh_token_expires_at=NOW + timedelta(days=90))
    assert "shpat_new" not in repr(tokens) and "shprt_new" not in repr(tokens)


def test_token_expiry_helper_says_when_to_refresh():
    tokens = TokenSet("a", "s", NOW + timedelta(minutes=4), "r", None)
    assert tokens.expires_within(300, NOW)
    assert not tokens.expires_within(60, NOW)
    assert not TokenSet("a", "s", None).expires_within(10**9, NOW)  # non-expiring token


def test_the_local_fake_answers_when_admin_origin_is_set(rsps):
    rsps.post("http://127.0.0.1:8900/admin/oauth/access_token", json=EXPIRING_RESPONSE)
    tokens = exchange_code(SHOP, "c", API_KEY, SECRET, now=NOW, admin_origin="http://127.0.0.1:8900/")
    assert tokens.access_token == "shpat_new"


def test_embedded_admin_exchanges_its_session_token_for_an_offline_token(rsps):
    rsps.post(TOKEN_URL, json=EXPIRING_RESPONSE)
    tokens = exchange_session_token(SHOP, "header.payload.sig", API_KEY, SECRET, now=NOW)
    assert body_of(rsps.calls[0]) == {
        "client_id": API_KEY,
        "client_secret": SECRET,
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": "header.payload.sig",
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
        "expiring": "1",
    }
    assert tokens.refresh_token == "shprt_new"


def test_a_refresh_rotates_both_tokens(rsps):
    rsps.post(TOKEN_URL, json=dict(EXPIRING_RESPONSE, access_token="shpat_2", refresh_token="shprt_2"))
    tokens = refresh_access_token(SHOP, "shprt_1", API_KEY, SECRET, now=NOW)
    assert body_of(rsps.calls[0]) == {"client_id": API_KEY, "client_secret": SECRET,
                                      "grant_type": "refresh_token", "refresh_token": "shprt_1"}
    assert (tokens.access_token, tokens.refresh_token) == ("shpat_2", "shprt_2")
    assert tokens.expires_at == NOW + timedelta(seconds=3600)


def test_a_non_expiring_answer_is_represented_without_expiry(rsps):
    rsps.post(TOKEN_URL, json={"access_token": "shpat_forever", "scope": "read_orders"})
    tokens = exchange_code(SHOP, "c", API_KEY, SECRET, now=NOW)
    assert tokens.expires_at is None and tokens.refresh_token is None


def test_a_revoked_refresh_token_says_reinstall_without_leaking_secrets(rsps):
    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_grant",
                                           "error_description": f"refresh token shprt_1 revoked ({SECRET})"})
    with pytest.raises(ShopifyOAuthError) as err:
        refresh_access_token(SHOP, "shprt_1", API_KEY, SECRET, now=NOW)
    assert err.value.error == "invalid_grant" and err.value.status == 400
    assert SECRET not in str(err.value) and "shprt_1" not in str(err.value)


def test_a_rejected_session_token_is_a_typed_oauth_error(rsps):
    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_subject_token"})
    with pytest.raises(ShopifyOAuthError) as err:
        exchange_session_token(SHOP, "jwt", API_KEY, SECRET, now=NOW)
    assert err.value.error == "invalid_subject_token"


def test_a_200_without_a_token_is_not_taken_as_success(rsps):
    rsps.post(TOKEN_URL, status=200, body="<html>login</html>")
    with pytest.raises(ShopifyOAuthError):
        exchange_code(SHOP, "c", API_KEY, SECRET, now=NOW)


def test_network_failure_is_a_typed_error_without_the_secret(rsps):
    rsps.post(TOKEN_URL, body=requests.ConnectTimeout(f"timeout {SECRET}"))
    with pytest.raises(ShopifyHTTPError) as err:
        exchange_code(SHOP, "c", API_KEY, SECRET, now=NOW)
    assert err.value.status == 0 and SECRET not in str(err.value)


def test_no_secret_is_sent_to_a_host_that_is_not_a_store(rsps):
    with pytest.raises(ValueError):
        exchange_code("evil.com", "c", API_KEY, SECRET, now=NOW)
    assert len(rsps.calls) == 0


def test_token_requests_have_timeouts_and_do_not_follow_redirects(monkeypatch):
    seen = {}

    def fake_post(self, url, **kwargs):
        seen.update(kwargs, url=url)
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps(EXPIRING_RESPONSE).encode()
        return response

    monkeypatch.setattr(requests.Session, "post", fake_post)
    exchange_code(SHOP, "c", API_KEY, SECRET, now=NOW)
    assert seen["timeout"] == (3.05, 20) and seen["allow_redirects"] is False
