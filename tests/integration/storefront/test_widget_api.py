"""What the storefront widget reads from the App Proxy: activity, pending release, caching, and
the redeem rate limit (issue 13)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from plugin import create_app
from plugin.config import ConfigError, load_config
from plugin.storefront.rate_limit import RedeemLimiter
from tests.conftest import _truncate_all, base_env
from tests.integration.loyalty.conftest import JON, payable, proxy_params, recently, send, setup_shop, shopper_with


def test_member_sees_last_five_entries_newest_first_and_when_pending_points_release(client, app_state):
    setup_shop(app_state)
    shopper_with(app_state, client, 40)  # signup action + manual adjustment
    today = recently(0)
    for n in range(4):
        send(client, "orders/paid", payable(at=today - timedelta(days=10 - n), id=1000 + n, name=f"#{1000 + n}"))
    body = client.get("/proxy/customer", query_string=proxy_params(JON)).get_json()
    activity = body["activity"]
    assert len(activity) == 5
    assert [a["at"] for a in activity] == sorted((a["at"] for a in activity), reverse=True)
    earned = [a for a in activity if a["kind"] == "earn"]
    assert len(earned) == 2, "seven entries (signup, adjustment, tier bonus, four orders): the two oldest drop off"
    assert {"kind": "action", "action": "signup"}.items() <= activity[2].items()
    assert all(a["available_at"] for a in earned), "unreleased order points say when they release"
    assert body["points"]["pending"] > 0
    # the oldest unreleased order (ten days ago, 14 pending days) releases first
    assert body["points"]["pending_release_at"] == (today + timedelta(days=4)).isoformat()
    tiers = {t["name"]: t for t in body["program"]["tiers"]}
    assert tiers["Plata"]["multiplier"] == 1.25 and tiers["Plata"]["entry_points"] == 100, "the widget's tier benefits"
    assert body["program"]["earn"]["per_amount"] == "1.00"
    assert body["customer"]["birthday_saved"] is False


def test_member_answer_is_never_cached_and_guest_answer_revalidates_with_an_etag(client, app_state):
    setup_shop(app_state)
    member = client.get("/proxy/customer", query_string=proxy_params(JON))
    assert member.headers["Cache-Control"] == "private, no-store" and "ETag" not in member.headers
    guest = client.get("/proxy/customer", query_string=proxy_params(""))
    assert guest.status_code == 200 and guest.headers["Cache-Control"] == "no-cache"
    etag = guest.headers["ETag"]
    again = client.get("/proxy/customer", query_string=proxy_params(""), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    setup_shop_program_change(app_state)
    changed = client.get("/proxy/customer", query_string=proxy_params(""), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def setup_shop_program_change(app_state):
    from sqlalchemy import select

    from plugin.models import Shop
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop)).scalar_one()
        shop.program = dict(shop.program, earn=dict(shop.program["earn"], points=2))


@pytest.fixture
def strict_client(migrated, pg_url):
    """The app limited to 2 redemption attempts a minute per customer."""
    app = create_app(base_env(pg_url, PROXY_REDEEM_RATE_LIMIT="2/minute"))
    app_state = app.extensions["embajador"]
    _truncate_all(app_state.db)
    with app.app_context():
        yield app.test_client(), app_state
    app_state.db.dispose()


def test_redeem_is_rate_limited_per_customer_with_retry_after(strict_client, fake_admin):  # noqa: F811
    client, app_state = strict_client
    setup_shop(app_state)
    shopper_with(app_state, client, 5000)
    redeem = lambda customer_id: client.post("/proxy/redeem", query_string=proxy_params(customer_id),  # noqa: E731
                                             json={"reward_id": "ship"})
    assert [redeem(JON).status_code for _ in range(2)] == [200, 200]
    refused = redeem(JON)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "try again" in refused.get_json()["error"]
    assert len(fake_admin.discounts) == 2, "a refused attempt never reaches Shopify"
    assert redeem("999").status_code != 429, "another shopper has their own allowance"


def test_bad_rate_limit_is_one_line_naming_the_variable(pg_url):
    with pytest.raises(ConfigError) as error:
        load_config(base_env(pg_url, PROXY_REDEEM_RATE_LIMIT="lots"))
    assert str(error.value).startswith("PROXY_REDEEM_RATE_LIMIT:") and "\n" not in str(error.value)


def test_web_processes_share_one_count_through_redis(migrated, pg_url, redis_url):
    """Two gunicorn workers are two limiters on one Redis: the third attempt is refused by either."""
    config = load_config(base_env(pg_url, REDIS_URL=redis_url, PROXY_REDEEM_RATE_LIMIT="2/minute"))
    first, second = RedeemLimiter.from_config(config), RedeemLimiter.from_config(config)
    first.limiter.storage.reset()
    assert first.attempt(1, JON).allowed and second.attempt(1, JON).allowed
    assert not first.attempt(1, JON).allowed and not second.attempt(1, JON).allowed
    assert second.attempt(2, JON).allowed, "the same customer id in another shop is another shopper"
    first.limiter.storage.reset()
