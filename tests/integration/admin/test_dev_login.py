"""The demo's dev login into the admin: only with the demo explicitly asked for, only on
127.0.0.1, only with a signed link; the tokens it mints pass the normal session-token check."""
from __future__ import annotations

import time

import pytest

from plugin import create_app
from plugin.admin.dev_login import dev_login_url
from plugin.shopify.signatures import sign_oauth_query
from tests.conftest import API_SECRET, base_env
from tests.integration.conftest import add_shop
from tests.shopify_requests import SHOP

LOCAL = {"base_url": "http://127.0.0.1:5000", "environ_base": {"REMOTE_ADDR": "127.0.0.1"}}


@pytest.fixture
def demo_app(migrated, pg_url):
    def build(mode: str | None):
        app = create_app(base_env(pg_url, EMBAJADOR_MODE=mode or ""))
        add_shop(app.extensions["embajador"])
        return app
    built = []
    yield lambda mode: built.append(build(mode)) or built[-1]
    for app in built:
        app.extensions["embajador"].db.dispose()


def _login_path(app) -> str:
    url = dev_login_url("http://127.0.0.1:5000", SHOP, app.extensions["embajador"].config.secret_key)
    return url.removeprefix("http://127.0.0.1:5000")


def test_explicit_demo_mode_logs_in_and_mints_tokens_the_api_accepts(demo_app):
    app = demo_app("demo")
    client = app.test_client()
    login = client.get(_login_path(app), **LOCAL)
    assert login.status_code == 302 and login.headers["Location"].startswith(f"/?shop={SHOP}")
    token = client.get("/dev/session-token", **LOCAL).get_data(as_text=True)
    shop = client.get("/api/shop", headers={"Authorization": f"Bearer {token}"}, **LOCAL)
    assert shop.status_code == 200 and shop.get_json()["domain"] == SHOP
    page = client.get(f"/?shop={SHOP}", **LOCAL).get_data(as_text=True)
    assert "dev-bridge.js" in page and "cdn.shopify.com/shopifycloud/app-bridge.js" not in page


@pytest.mark.parametrize("mode", [None, "test"])
def test_no_dev_login_unless_demo_mode_is_set_explicitly(demo_app, mode):
    app = demo_app(mode)  # None: the mode defaults to demo, but nobody asked for it
    client = app.test_client()
    assert client.get(_login_path(app), **LOCAL).status_code == 404
    assert client.get("/dev/session-token", **LOCAL).status_code == 404


@pytest.mark.parametrize("where", [
    {"base_url": "http://embajador.example.com", "environ_base": {"REMOTE_ADDR": "127.0.0.1"}},
    {"base_url": "http://127.0.0.1:5000", "environ_base": {"REMOTE_ADDR": "203.0.113.9"}},
])
def test_dev_login_answers_only_local_requests(demo_app, where):
    app = demo_app("demo")
    client = app.test_client()
    assert client.get(_login_path(app), **where).status_code == 404
    client.get(_login_path(app), **LOCAL)  # logged in locally …
    assert client.get("/dev/session-token", **where).status_code == 404  # … still nothing from elsewhere


def test_a_tampered_login_link_is_refused(demo_app):
    app = demo_app("demo")
    client = app.test_client()
    assert client.get(_login_path(app)[:-3] + "abc", **LOCAL).status_code == 403
    assert client.get("/dev/session-token", **LOCAL).status_code == 404


def test_the_page_sets_frame_ancestors_for_the_shop_in_a_signed_launch_url(client):
    launch = {"shop": SHOP, "timestamp": str(int(time.time())), "locale": "pt"}
    launch["hmac"] = sign_oauth_query(launch, API_SECRET)
    response = client.get("/", query_string=launch)
    assert response.headers["Content-Security-Policy"].startswith(
        f"frame-ancestors https://{SHOP} https://admin.shopify.com;")
    unsigned = client.get(f"/?shop={SHOP}&locale=pt")
    assert unsigned.headers["Content-Security-Policy"].startswith("frame-ancestors https://admin.shopify.com;")
    assert '<html lang="pt">' in response.get_data(as_text=True)
    assert "cdn.shopify.com/shopifycloud/polaris-1.js" in response.get_data(as_text=True)
