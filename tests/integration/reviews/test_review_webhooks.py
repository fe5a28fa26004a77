"""Review apps award the program's review actions through signed webhooks, on the real app."""
from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlparse

from rq import Queue, SimpleWorker
from sqlalchemy import text

from plugin.jobs.queue import QUEUE_NAME
from tests.integration.conftest import add_shop, bearer, session_token
from tests.integration.loyalty.conftest import assert_no_drift, entries
from tests.integration.open_api.support import ANA, balance, ledger_count, shop_with_actions
from tests.integration.reviews.payloads import judgeme, yotpo
from tests.shopify_requests import SHOP

JUDGEME_TOKEN = "jm-private-token-0123456789"
JUDGEME_URL = f"/hooks/reviews/judgeme/{SHOP}"


def connect_judgeme(client, secret=JUDGEME_TOKEN, shop=SHOP):
    response = client.put("/api/review-integrations/judgeme", json={"secret": secret},
                          headers=bearer(session_token(shop=shop)))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["url"] == f"https://embajador.test/hooks/reviews/judgeme/{shop}"


def post_judgeme(client, body: dict, secret=JUDGEME_TOKEN, url=JUDGEME_URL, signature=None):
    raw = json.dumps(body).encode()
    signed = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "JUDGEME-HMAC-SHA256": signature if signature is not None else signed}
    return client.post(url, data=raw, headers=headers)


def connect_yotpo(client) -> str:
    response = client.post("/api/review-integrations/yotpo", headers=bearer(session_token()))
    assert response.status_code == 201
    url = urlparse(response.get_json()["url"])
    assert url.path == f"/hooks/reviews/yotpo/{SHOP}"
    return parse_qs(url.query)["token"][0]


def test_a_signed_judgeme_review_pays_the_review_action_once(client, app_state):
    shop_with_actions(app_state, client)
    connect_judgeme(client)
    first = post_judgeme(client, judgeme())
    assert first.status_code == 200 and first.get_json() == {"status": "awarded", "action_id": "review",
                                                              "points_awarded": 50}
    retried = post_judgeme(client, judgeme())  # Judge.me retrying the same review
    assert retried.get_json()["status"] == "duplicate" and retried.get_json()["points_awarded"] == 0
    assert balance(app_state) == 150
    [entry] = [e for e in entries(app_state, "action") if ":review:" in e.key]
    assert entry.key.endswith(":review:judgeme-465077653") and entry.source == "review:judgeme"
    assert_no_drift(app_state)


def test_a_review_with_photos_pays_photo_review(client, app_state):
    shop_with_actions(app_state, client)
    connect_judgeme(client)
    with_photo = judgeme(id=465077654, pictures=[{"urls": {"original": "https://judge.me/p.jpg"}, "hidden": False}])
    assert post_judgeme(client, with_photo).get_json()["action_id"] == "photo_review"
    assert balance(app_state) == 180


def test_bad_or_missing_judgeme_signatures_are_refused_and_write_nothing(client, app_state):
    shop_with_actions(app_state, client)
    add_shop(app_state, domain="otra-tienda.myshopify.com")
    before = ledger_count(app_state)
    assert post_judgeme(client, judgeme()).status_code == 401  # not connected yet
    connect_judgeme(client)
    body = judgeme()
    assert post_judgeme(client, body, secret="someone-elses-token").status_code == 401
    assert post_judgeme(client, body, signature="").status_code == 401
    raw = json.dumps(body).encode()
    good = hmac.new(JUDGEME_TOKEN.encode(), raw, hashlib.sha256).hexdigest()
    tampered = raw.replace(b'"rating": 5', b'"rating": 1')
    assert client.post(JUDGEME_URL, data=tampered, headers={"JUDGEME-HMAC-SHA256": good}).status_code == 401
    other_shop = post_judgeme(client, body, url="/hooks/reviews/judgeme/otra-tienda.myshopify.com")
    assert other_shop.status_code == 401
    assert post_judgeme(client, body, url="/hooks/reviews/judgeme/evil.com").status_code == 401
    assert ledger_count(app_state) == before and balance(app_state) == 100


def test_judgeme_secret_is_stored_encrypted(client, app_state):
    shop_with_actions(app_state, client)
    connect_judgeme(client)
    with app_state.db.transaction() as session:
        stored = bytes(session.execute(text("SELECT secret_enc FROM review_integrations")).scalar_one())
    assert JUDGEME_TOKEN.encode() not in stored
    assert client.put("/api/review-integrations/judgeme", json={"secret": "x"},
                      headers=bearer(session_token())).status_code == 400


def test_yotpo_review_with_the_url_token_pays_and_a_wrong_token_is_refused(client, app_state):
    shop_with_actions(app_state, client)
    token = connect_yotpo(client)
    url = f"/hooks/reviews/yotpo/{SHOP}"
    assert client.post(f"{url}?token=wrong", json=yotpo()).status_code == 401
    assert client.post(url, json=yotpo()).status_code == 401
    assert balance(app_state) == 100
    paid = client.post(f"{url}?token={token}", json=yotpo())
    assert paid.status_code == 200 and paid.get_json()["status"] == "awarded"
    assert client.post(f"{url}?token={token}", json=yotpo(event="review_updated")).get_json() == {"status": "ignored"}
    assert balance(app_state) == 150
    new_token = connect_yotpo(client)  # regenerating revokes the old URL
    assert client.post(f"{url}?token={token}", json=yotpo(id=220)).status_code == 401
    assert client.post(f"{url}?token={new_token}", json=yotpo(id=220)).get_json()["status"] == "cooldown"


def test_unknown_reviewers_unreadable_bodies_and_programs_without_review_actions(client, app_state):
    shop_with_actions(app_state, client)
    connect_judgeme(client)
    stranger = judgeme(reviewer={"email": "nobody@example.com", "name": "X"})
    assert post_judgeme(client, stranger).get_json()["status"] == "unknown_customer"
    assert post_judgeme(client, {"event": "review/created"}).status_code == 400
    assert post_judgeme(client, judgeme(id="../../etc")).status_code == 400
    foreign_body = judgeme()
    foreign_body["shop_domain"] = "otra-tienda.myshopify.com"
    assert post_judgeme(client, foreign_body).status_code == 400
    assert balance(app_state) == 100
    client.put("/api/program", json={**client.get("/api/program", headers=bearer(session_token())).get_json(),
                                     "actions": {"signup": 100}}, headers=bearer(session_token()))
    assert post_judgeme(client, judgeme()).get_json()["status"] == "no_action"
    assert balance(app_state) == 100


def test_a_review_award_reaches_shopify_metafields_through_a_real_rq_worker(rq_app, fake_admin):
    app_state = rq_app.extensions["embajador"]
    client = rq_app.test_client()
    shop_with_actions(app_state, client)
    connection = app_state.queue.connection
    SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(burst=True)
    connect_judgeme(client)
    assert post_judgeme(client, judgeme()).get_json()["status"] == "awarded"
    SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(burst=True)
    points = [m["value"] for m in fake_admin.metafields if m["key"] == "points" and
              m["ownerId"] == f"gid://shopify/Customer/{ANA}"]
    assert points[-1] == "150"
