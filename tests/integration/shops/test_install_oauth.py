"""Installing from the Shopify admin: the authorization-code grant and each rejection."""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from sqlalchemy import func, select

from plugin.demo.fake_shopify import FakeShopify, install_into_responses
from plugin.models import OAuthState, Shop
from plugin.shopify.signatures import sign_oauth_query
from tests.conftest import API_KEY, API_SECRET

SHOP = "tienda-ejemplo.myshopify.com"
ADMIN_ORIGIN = "https://admin.shopify.test"


@pytest.fixture
def fake():
    fake = FakeShopify(api_key=API_KEY, api_secret=API_SECRET, currency="CLP", locale="es")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        install_into_responses(fake, rsps, ADMIN_ORIGIN)
        yield fake


def start_install(client, shop=SHOP) -> str:
    response = client.get(f"/auth/install?shop={shop}")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.scheme == "https" and location.netloc == shop
    assert location.path == "/admin/oauth/authorize"
    query = parse_qs(location.query)
    assert query["client_id"] == [API_KEY]
    assert query["redirect_uri"] == ["https://embajador.test/auth/callback"]
    return query["state"][0]


def callback_query(fake, state, shop=SHOP, timestamp=None, secret=API_SECRET, **overrides) -> dict:
    params = {"code": fake.grant_code(shop), "shop": shop, "state": state,
              "timestamp": str(timestamp or int(time.time())), "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvdGVzdA"}
    params.update(overrides)
    params["hmac"] = sign_oauth_query(params, secret)
    return params


def shops(app_state):
    with app_state.db.transaction() as session:
        return session.execute(select(Shop)).scalars().all()


def test_install_redirects_to_shopify_with_a_single_use_state(client, app_state):
    state = start_install(client)
    with app_state.db.transaction() as session:
        stored = session.get(OAuthState, state)
        assert stored.shop_domain == SHOP


@pytest.mark.parametrize("shop", ["evil.com", "shop.myshopify.com.evil.com", "", "-x.myshopify.com",
                                  "x.myshopify.com@evil.com", "evil.com/x.myshopify.com"])
def test_install_refuses_a_shop_that_is_not_myshopify(client, shop):
    assert client.get(f"/auth/install?shop={shop}").status_code == 400


def test_callback_happy_path_stores_encrypted_expiring_token_and_relies_on_the_toml_webhooks(client, app_state, fake):
    state = start_install(client)
    response = client.get("/auth/callback", query_string=callback_query(fake, state))
    assert response.status_code == 302
    assert response.headers["Location"] == f"https://{SHOP}/admin/apps/{API_KEY}"
    [shop] = shops(app_state)
    assert shop.domain == SHOP and shop.installed
    assert shop.currency == "CLP" and shop.primary_locale == "es"
    token = app_state.cipher.decrypt(shop.access_token_enc)
    assert token in fake.tokens and token.encode() not in shop.access_token_enc
    assert shop.refresh_token_enc is not None and shop.access_token_expires_at is not None
    assert fake.operations("oauth:authorization_code")[0]["expiring"] == "1"
    # Webhooks come from shopify.app.toml: registering them per shop too would deliver each event twice.
    assert fake.subscriptions == [] and not fake.operations("webhookSubscriptionCreate")
    assert shop.program and shop.program["currency"] == "CLP"
    # the default rewards are named in the shop's language and currency
    assert [r["name"] for r in shop.program["rewards"]] == ["$5.000 de descuento", "10% de descuento",
                                                            "Envío gratis"]


def test_reinstall_updates_the_same_shop_and_does_not_duplicate_subscriptions(client, app_state, fake):
    client.get("/auth/callback", query_string=callback_query(fake, start_install(client)))
    first_count = len(fake.subscriptions)
    client.get("/auth/callback", query_string=callback_query(fake, start_install(client)))
    assert len(shops(app_state)) == 1
    assert len(fake.subscriptions) == first_count == 0


def test_state_cannot_be_replayed(client, app_state, fake):
    state = start_install(client)
    assert client.get("/auth/callback", query_string=callback_query(fake, state)).status_code == 302
    assert client.get("/auth/callback", query_string=callback_query(fake, state)).status_code == 401


def test_bad_hmac_is_rejected_and_nothing_stored(client, app_state, fake):
    state = start_install(client)
    query = callback_query(fake, state, secret="wrong-secret")
    assert client.get("/auth/callback", query_string=query).status_code == 401
    assert shops(app_state) == []
    assert fake.operations("oauth:authorization_code") == []


def test_unknown_state_is_rejected(client, app_state, fake):
    start_install(client)
    assert client.get("/auth/callback", query_string=callback_query(fake, "forged-state")).status_code == 401
    assert shops(app_state) == []


def test_state_issued_for_another_shop_is_rejected(client, app_state, fake):
    state = start_install(client, shop="other-shop.myshopify.com")
    assert client.get("/auth/callback", query_string=callback_query(fake, state)).status_code == 401
    assert shops(app_state) == []


def test_bad_shop_is_rejected(client, app_state, fake):
    state = start_install(client)
    query = callback_query(fake, state, shop="evil.example.com")
    assert client.get("/auth/callback", query_string=query).status_code == 400
    assert shops(app_state) == []


def test_stale_timestamp_is_rejected(client, app_state, fake):
    state = start_install(client)
    query = callback_query(fake, state, timestamp=int(time.time()) - 2 * 24 * 3600)
    assert client.get("/auth/callback", query_string=query).status_code == 401
    assert shops(app_state) == []


def test_code_refused_by_shopify_stores_nothing(client, app_state, fake):
    state = start_install(client)
    query = callback_query(fake, state, code="not-a-granted-code")
    assert client.get("/auth/callback", query_string=query).status_code == 400
    assert shops(app_state) == []
    with app_state.db.transaction() as session:
        assert session.execute(select(func.count()).select_from(Shop)).scalar_one() == 0


def test_expiring_token_is_refreshed_before_use(client, app_state, fake):
    from datetime import timedelta

    from plugin.models import utcnow
    from plugin.shops.tokens import admin_client
    client.get("/auth/callback", query_string=callback_query(fake, start_install(client)))
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop)).scalar_one()
        old_token = app_state.cipher.decrypt(shop.access_token_enc)
        shop.access_token_expires_at = utcnow() + timedelta(minutes=1)
    admin_client(app_state, shop).execute("query { shop { name } }")
    [refreshed] = shops(app_state)
    new_token = app_state.cipher.decrypt(refreshed.access_token_enc)
    assert new_token != old_token and new_token in fake.tokens
    assert len(fake.operations("oauth:refresh_token")) == 1
    assert refreshed.access_token_expires_at > utcnow() + timedelta(minutes=30)
