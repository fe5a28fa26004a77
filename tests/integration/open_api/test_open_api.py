"""The open API through the real app on Postgres: keys created in the admin, Bearer auth on
every /v1 call, every query scoped by the key's shop, idempotent writes."""
from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta

from plugin.models import Shop
from tests.integration.conftest import add_shop, bearer, session_token
from tests.integration.loyalty.conftest import assert_no_drift, entries, run_tick
from tests.integration.open_api.support import (
    ANA,
    auth,
    balance,
    create_key,
    idempotency_count,
    ledger_count,
    shop_with_actions,
)

OTHER = "otra-tienda.myshopify.com"


def test_missing_malformed_unknown_and_revoked_keys_get_401_and_write_nothing(client, app_state):
    shop_with_actions(app_state, client)
    key = create_key(client)
    before = ledger_count(app_state)
    body = {"points": 500, "reason": "bonus"}
    wrong_secret = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nope"},
                    auth(wrong_secret), {"Authorization": key}):
        response = client.post(f"/v1/customers/{ANA}/adjust", json=body, headers={**headers, "Idempotency-Key": "k1"})
        assert response.status_code == 401
        assert response.get_json()["error"].startswith("a valid API key is required")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    key_id = client.get("/api/developers", headers=bearer(session_token())).get_json()["keys"][0]["id"]
    assert client.get(f"/v1/customers/{ANA}", headers=auth(key)).status_code == 200
    assert client.delete(f"/api/api-keys/{key_id}", headers=bearer(session_token())).status_code == 200
    revoked = client.post(f"/v1/customers/{ANA}/adjust", json=body, headers=auth(key, "k2"))
    assert revoked.status_code == 401
    assert client.get(f"/v1/customers/{ANA}", headers=auth(key)).status_code == 401
    assert ledger_count(app_state) == before and idempotency_count(app_state) == 0
    assert balance(app_state) == 100  # the signup points only


def test_the_key_is_shown_once_and_stored_hashed(client, app_state):
    shop_with_actions(app_state, client)
    key = create_key(client)
    listed = client.get("/api/developers", headers=bearer(session_token())).get_json()["keys"]
    assert len(listed) == 1 and key not in str(listed) and listed[0]["prefix"].endswith("_…")
    with app_state.db.transaction() as session:
        from sqlalchemy import text
        stored = session.execute(text("SELECT prefix, secret_sha256 FROM api_keys")).one()
    _, prefix, secret = key.split("_", 2)  # the secret itself may contain "_"
    assert stored.prefix == prefix and stored.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(stored)
    assert client.post("/api/api-keys", json={"name": "  "}, headers=bearer(session_token())).status_code == 400


def test_another_shops_key_sees_no_customer_and_moves_no_points(client, app_state):
    shop_with_actions(app_state, client)
    add_shop(app_state, domain=OTHER)
    foreign = create_key(client, shop=OTHER)
    assert client.get(f"/v1/customers/{ANA}", headers=auth(foreign)).status_code == 404
    assert client.get("/v1/customers?email=ana@example.com", headers=auth(foreign)).status_code == 404
    assert client.get(f"/v1/customers/{ANA}/ledger", headers=auth(foreign)).status_code == 404
    for path, body in ((f"/v1/customers/{ANA}/adjust", {"points": 10, "reason": "x"}),
                       (f"/v1/customers/{ANA}/actions/review", {}),
                       (f"/v1/customers/{ANA}/redeem", {"reward_id": "5off"})):
        response = client.post(path, json=body, headers=auth(foreign, "same-key"))
        assert response.status_code == 404, path
    assert balance(app_state) == 100 and idempotency_count(app_state) == 0


def test_read_balance_tier_and_ledger_by_id_and_by_email(client, app_state):
    shop_with_actions(app_state, client)
    key = create_key(client)
    by_id = client.get(f"/v1/customers/{ANA}", headers=auth(key)).get_json()
    by_email = client.get("/v1/customers?email=ANA@example.com", headers=auth(key)).get_json()
    by_path_email = client.get("/v1/customers/by-email?email=ana@example.com", headers=auth(key)).get_json()
    assert by_id == by_email == by_path_email
    assert client.get("/v1/customers/ana@example.com", headers=auth(key)).status_code == 404  # no emails in paths
    assert by_id["points"] == {"available": 100, "pending": 0} and by_id["tier"] == {"name": "Bronce"}
    assert by_id["next_tier"]["name"] == "Plata" and by_id["currency"] == "USD"
    ledger = client.get(f"/v1/customers/{ANA}/ledger?limit=10", headers=auth(key)).get_json()
    assert [e["kind"] for e in ledger["entries"]] == ["action"] and ledger["entries"][0]["available"] == 100
    assert client.get("/v1/customers/by-email/ledger?email=ana@example.com&limit=10",
                      headers=auth(key)).get_json() == ledger
    assert client.get(f"/v1/customers/{ANA}/ledger?limit=0", headers=auth(key)).status_code == 400
    # A digit to str.isdigit() that int() refuses (found by the full hostile-input run): 400, not 500.
    assert client.get(f"/v1/customers/{ANA}/ledger?limit=%C2%B2", headers=auth(key)).status_code == 400
    assert client.get("/v1/customers?email=", headers=auth(key)).status_code == 400
    rewards = client.get("/v1/rewards", headers=auth(key)).get_json()
    assert [r["id"] for r in rewards["rewards"]] == ["ship", "5off", "10pct"]
    assert [a["id"] for a in client.get("/v1/actions", headers=auth(key)).get_json()["actions"]] == [
        "review", "photo_review", "instagram_follow"]


def test_adjust_with_the_same_idempotency_key_posts_once_and_answers_the_same(client, app_state):
    shop_with_actions(app_state, client)
    key = create_key(client)
    body = {"points": 250, "reason": "survey bonus"}
    first = client.post(f"/v1/customers/{ANA}/adjust", json=body, headers=auth(key, "order-77-bonus"))
    again = client.post(f"/v1/customers/{ANA}/adjust", json=body, headers=auth(key, "order-77-bonus"))
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["points"] == {"available": 350, "pending": 0}
    assert balance(app_state) == 350 and len(entries(app_state, "adjust")) == 1
    assert entries(app_state, "adjust")[0].reason == "survey bonus"
    reused = client.post(f"/v1/customers/{ANA}/adjust", json={"points": 999, "reason": "other"},
                         headers=auth(key, "order-77-bonus"))
    assert reused.status_code == 422 and reused.get_json()["field"] == "Idempotency-Key"
    assert client.post(f"/v1/customers/{ANA}/adjust", json=body, headers=auth(key)).status_code == 400
    assert client.post(f"/v1/customers/{ANA}/adjust", json={"points": 5}, headers=auth(key, "n")).status_code == 400
    assert client.post(f"/v1/customers/{ANA}/adjust", json={"points": 0, "reason": "x"},
                       headers=auth(key, "z")).status_code == 400
    assert balance(app_state) == 350
    assert_no_drift(app_state)


def test_concurrent_retries_with_one_key_post_once(client, app_state):
    shop_with_actions(app_state, client)
    key = create_key(client)
    barrier, statuses = threading.Barrier(8), []
    app = client.application

    def attempt():
        with app.test_client() as c:
            barrier.wait()
            statuses.append(c.post(f"/v1/customers/{ANA}/actions/photo_review",
                                   headers=auth(key, "review-123")).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 8
    assert balance(app_state) == 180 and idempotency_count(app_state) == 1
    assert_no_drift(app_state)


def test_award_action_respects_limit_and_cooldown(client, app_state):
    shop_with_actions(app_state, client)
    key = create_key(client)
    follow = client.post(f"/v1/customers/{ANA}/actions/instagram_follow", headers=auth(key, "f1"))
    assert follow.status_code == 201 and follow.get_json()["points_awarded"] == 20
    second = client.post(f"/v1/customers/{ANA}/actions/instagram_follow", headers=auth(key, "f2"))
    assert second.status_code == 409 and second.get_json()["status"] == "limit"
    review = client.post(f"/v1/customers/{ANA}/actions/review", headers=auth(key, "r1"))
    assert review.status_code == 201
    cooling = client.post(f"/v1/customers/{ANA}/actions/review", headers=auth(key, "r2")).get_json()
    reviewed_at = entries(app_state, "action")[-1].occurred_at
    assert cooling["status"] == "cooldown" and cooling["points_awarded"] == 0
    assert datetime.fromisoformat(cooling["retry_at"]) == reviewed_at + timedelta(days=1)
    assert balance(app_state) == 100 + 20 + 50
    unknown = client.post(f"/v1/customers/{ANA}/actions/tiktok_follow", headers=auth(key, "t1"))
    assert unknown.status_code == 404 and unknown.get_json()["field"] == "action_id"
    assert [e.key.split(":")[3] for e in entries(app_state, "action")] == ["signup", "instagram_follow", "review"]


def test_redeem_for_a_customer_through_the_api_once_per_key(client, app_state, fake_admin):
    shop_with_actions(app_state, client)
    key = create_key(client)
    client.post(f"/v1/customers/{ANA}/adjust", json={"points": 500, "reason": "migration"}, headers=auth(key, "m"))
    first = client.post(f"/v1/customers/{ANA}/redeem", json={"reward_id": "5off"}, headers=auth(key, "redeem-1"))
    again = client.post(f"/v1/customers/{ANA}/redeem", json={"reward_id": "5off"}, headers=auth(key, "redeem-1"))
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    assert first.get_json()["points"]["available"] == 100 and len(fake_admin.discounts) == 1
    assert fake_admin.discounts[0]["code"] == first.get_json()["code"]
    poor = client.post(f"/v1/customers/{ANA}/redeem", json={"reward_id": "10pct"}, headers=auth(key, "redeem-2"))
    assert poor.status_code == 409 and poor.get_json()["needed"] == 1000
    bad = client.post(f"/v1/customers/{ANA}/redeem", json={"reward_id": "nope"}, headers=auth(key, "redeem-3"))
    assert bad.status_code == 400 and len(fake_admin.discounts) == 1
    assert balance(app_state) == 100
    assert_no_drift(app_state)


def test_uninstalled_shops_keys_stop_working(client, app_state):
    shop_id = shop_with_actions(app_state, client)
    key = create_key(client)
    with app_state.db.transaction() as session:
        session.get(Shop, shop_id).installed = False
    assert client.get(f"/v1/customers/{ANA}", headers=auth(key)).status_code == 401


def test_idempotency_keys_are_forgotten_after_30_days_by_tick(client, app_state):
    shop_with_actions(app_state, client)
    key = create_key(client)
    client.post(f"/v1/customers/{ANA}/adjust", json={"points": 5, "reason": "x"}, headers=auth(key, "old"))
    assert run_tick(app_state, datetime.now(UTC) + timedelta(days=29))["api_idempotency_retention"] == {"purged": 0}
    assert run_tick(app_state, datetime.now(UTC) + timedelta(days=31))["api_idempotency_retention"] == {"purged": 1}
    assert idempotency_count(app_state) == 0
    # the ledger key still refuses a second posting of the forgotten key
    again = client.post(f"/v1/customers/{ANA}/adjust", json={"points": 5, "reason": "x"}, headers=auth(key, "old"))
    assert again.status_code == 201 and balance(app_state) == 105 and len(entries(app_state, "adjust")) == 1


def test_a_guest_known_only_by_email_cannot_redeem_a_code_nobody_is_bound_to(client, app_state, fake_admin):
    from plugin.models import Customer
    shop_id = shop_with_actions(app_state, client)
    key = create_key(client)
    with app_state.db.transaction() as session:
        session.add(Customer(shop_id=shop_id, email="guest@example.com", points_available=0, points_pending=0))
    guest = "/v1/customers/by-email/{}?email=guest@example.com"
    assert client.post(guest.format("adjust"), json={"points": 600, "reason": "import"},
                       headers=auth(key, "g1")).status_code == 201
    refused = client.post(guest.format("redeem"), json={"reward_id": "5off"}, headers=auth(key, "g2"))
    assert refused.status_code == 409 and refused.get_json()["field"] == "customer"
    assert fake_admin.discounts == [] and idempotency_count(app_state) == 1
