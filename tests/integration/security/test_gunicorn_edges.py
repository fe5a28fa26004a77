"""Attacks that only show through the real web process, started as the Procfile starts it
(gunicorn -c gunicorn.conf.py): X-Forwarded-For spoofing (attack 5) and secrets in the
access log (attack 7)."""
from __future__ import annotations

import uuid
from contextlib import contextmanager

import requests
from sqlalchemy import func, select

from plugin import create_app
from plugin.demo.fake_shopify import FakeShopify
from plugin.models import Customer, ReferralClick, Shop
from plugin.referrals.links import referral_link
from tests.conftest import API_KEY, API_SECRET, _truncate_all, base_env
from tests.e2e.processes import gunicorn, wait_until
from tests.integration.security.conftest import proxy_query, setup_shop
from tests.shopify_requests import SHOP


@contextmanager
def served_shop(pg_url, tmp_path, **env_overrides):
    """gunicorn on a fresh schema with an installed shop whose Admin API is a real HTTP fake."""
    fake = FakeShopify(api_key=API_KEY, api_secret=API_SECRET)
    fake.tokens["shpat_test"] = SHOP
    origin, server = fake.serve()
    env = base_env(pg_url, SHOPIFY_ADMIN_ORIGIN=origin, **env_overrides)
    app = create_app(env)
    app_state = app.extensions["embajador"]
    _truncate_all(app_state.db)
    setup_shop(app_state)
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop)).scalar_one()
        advocate = Customer(shop_id=shop.id, shopify_id="7400000000000001", email="valentina@example.cl")
        session.add(advocate)
        session.flush()
        code = referral_link(session, shop, advocate, app_state.config.app_url)["code"]
    try:
        with gunicorn(env, tmp_path, access_log=True) as base:
            yield base, app_state, code
    finally:
        server.shutdown()
        app_state.db.dispose()


def _codes_minted(app_state) -> int:
    with app_state.db.transaction() as session:
        return session.execute(select(func.count(func.distinct(ReferralClick.friend_code)))
                               .where(ReferralClick.friend_code.is_not(None))).scalar_one()


def _land(base: str, code: str, forwarded_for: str) -> None:
    response = requests.get(f"{base}/r/{code}", allow_redirects=False, timeout=10,
                            headers={"X-Forwarded-For": forwarded_for, "User-Agent": f"Mozilla/5.0 {uuid.uuid4()}"})
    assert response.status_code == 302


def test_spoofed_forwarded_for_without_a_proxy_does_not_lift_the_per_ip_cap(migrated, pg_url, tmp_path):
    with served_shop(pg_url, tmp_path) as (base, app_state, code):
        for n in range(30):
            _land(base, code, f"198.51.100.{n}")
        assert _codes_minted(app_state) == 1  # one visitor (the socket peer): one code, reused


def test_behind_one_proxy_only_the_address_the_proxy_saw_counts(migrated, pg_url, tmp_path):
    with served_shop(pg_url, tmp_path, TRUSTED_PROXIES="1") as (base, app_state, code):
        for n in range(30):  # the client forges entries; the proxy appends the real address last
            _land(base, code, f"10.0.0.{n}, 203.0.113.7")
        assert _codes_minted(app_state) == 1
        _land(base, code, "10.0.0.1, 203.0.113.8")  # a different real visitor still gets a code
        assert _codes_minted(app_state) == 2


SECRETS = ("code=oauthcode0123456789", "hmac=deadbeefcafe0123", "state=nonce0123456789",
           "survey-token-abcdef012345", "unsubscribe-token-abcdef0123")


def test_access_log_never_shows_query_strings(migrated, pg_url, tmp_path):
    with served_shop(pg_url, tmp_path) as (base, app_state, code):
        query = proxy_query("5005")
        requests.get(f"{base}/proxy/customer?{query}", timeout=10)
        requests.get(f"{base}/auth/callback?{SECRETS[0]}&{SECRETS[1]}&{SECRETS[2]}&shop={SHOP}&timestamp=1",
                     timeout=10)
        requests.get(f"{base}/survey/{SECRETS[3]}?score=10", timeout=10)
        requests.get(f"{base}/emails/unsubscribe/x?t={SECRETS[4]}", timeout=10)
        log_path = tmp_path / "gunicorn.log"
        wait_until(lambda: "/emails/unsubscribe/x" in log_path.read_text(), timeout=10, what="the access log lines")
        log = log_path.read_text()
    assert "GET /proxy/customer HTTP/1.1" in log and "GET /auth/callback HTTP/1.1" in log
    signature = query.split("signature=")[1]
    for leaked in (signature, "logged_in_customer_id", "5005") + SECRETS[:3] + (SECRETS[4],):
        assert leaked not in log, leaked
