"""The embedded admin API: every call needs a valid Shopify session token, scoped to its shop."""
from __future__ import annotations

import time

import pytest
import responses
from sqlalchemy import select

from plugin.demo.fake_shopify import FakeShopify, install_into_responses
from plugin.models import Shop
from tests.conftest import API_KEY, API_SECRET
from tests.integration.conftest import add_shop, bearer, session_token
from tests.shopify_requests import SHOP, fixture_body, post_webhook


def test_valid_session_token_reads_its_own_shop(client, app_state):
    add_shop(app_state)
    response = client.get("/api/shop", headers=bearer(session_token()))
    assert response.status_code == 200
    assert response.get_json()["domain"] == SHOP


@pytest.mark.parametrize("token", [
    session_token(secret="someone-elses-secret"),
    session_token(aud="another-app"),
    session_token(exp_in=-120),
    session_token(nbf=int(time.time()) + 600),
    "not-a-jwt",
])
def test_bad_session_tokens_are_401_with_retry_hint(client, app_state, token):
    add_shop(app_state)
    response = client.get("/api/shop", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"


def test_missing_authorization_is_401(client, app_state):
    add_shop(app_state)
    assert client.get("/api/inbox").status_code == 401


def test_a_shop_only_sees_its_own_inbox(client, app_state):
    add_shop(app_state)
    add_shop(app_state, domain="other.myshopify.com")
    post_webhook(client, "customers/create", fixture_body("customers__create.json"), shop="other.myshopify.com")
    post_webhook(client, "customers/create", fixture_body("customers__create.json"))
    deliveries = client.get("/api/inbox", headers=bearer(session_token())).get_json()["deliveries"]
    assert len(deliveries) == 1


def test_first_call_from_a_managed_install_exchanges_the_session_token(client, app_state):
    fake = FakeShopify(api_key=API_KEY, api_secret=API_SECRET, currency="MXN", locale="es")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        install_into_responses(fake, rsps, "https://admin.shopify.test")
        response = client.get("/api/shop", headers=bearer(session_token(shop="nueva.myshopify.com")))
    assert response.status_code == 200
    assert response.get_json()["currency"] == "MXN"
    exchange = fake.operations("oauth:token-exchange")
    assert exchange and exchange[0]["requested_token_type"].endswith("offline-access-token")
    assert exchange[0]["expiring"] == "1"
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.domain == "nueva.myshopify.com")).scalar_one()
        assert app_state.cipher.decrypt(shop.access_token_enc) in fake.tokens


def test_embedded_page_may_only_be_framed_by_shopify(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "frame-ancestors https://*.myshopify.com https://admin.shopify.com" in response.headers["Content-Security-Policy"]
    assert f'content="{API_KEY}"' in response.get_data(as_text=True)
