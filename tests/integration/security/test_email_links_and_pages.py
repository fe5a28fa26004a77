"""Attack 6: mail scanners prefetch every link in an email (some run JavaScript): a survey
link must record nothing until the shopper presses the button. Attack 8: the pages these
links open (survey, unsubscribe, referral) must send security headers, and the embedded
admin may be framed only by the authenticated shop. Attack 7 (payload half): a survey token
is signed, not encrypted, so it must carry nothing personal."""
from __future__ import annotations

import json
import time
from datetime import timedelta

from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from emails.delivery.tokens import UNSUBSCRIBE, make_token
from plugin.feedback.survey_links import survey_token
from plugin.models import Complaint, Customer, Shop, SurveyResponse, utcnow
from plugin.shopify.signatures import sign_oauth_query
from tests.conftest import API_SECRET
from tests.integration.security.conftest import member_with_points, setup_shop
from tests.shopify_requests import SHOP

PRIVATE = ("ana.perez@example.cl", "Ana", "Pérez")


def _member(app_state, client) -> tuple[int, int, str]:
    shop_id = setup_shop(app_state)
    customer_id = member_with_points(app_state, client, "5005", 0, PRIVATE[0])
    with app_state.db.transaction() as session:
        customer = session.get(Customer, customer_id)
        customer.last_name = PRIVATE[2]
        token = survey_token(app_state.config.secret_key, session.get(Shop, shop_id), customer, "555", "#1042",
                             "nps", utcnow() + timedelta(days=30))
    return shop_id, customer_id, token


def _responses(app_state) -> list[tuple[int, str | None]]:
    with app_state.db.transaction() as session:
        return [tuple(r) for r in session.execute(select(SurveyResponse.score, SurveyResponse.comment))]


def test_a_scanner_fetching_every_survey_link_records_no_score_and_opens_no_complaint(client, app_state):
    _, _, token = _member(app_state, client)
    for score in range(0, 11):  # every link of the NPS email, as a scanner would fetch them
        page = client.get(f"/survey/{token}?score={score}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert f'value="{score}" checked' in html and "<script" not in html
    assert _responses(app_state) == []
    with app_state.db.transaction() as session:
        assert session.execute(select(Complaint)).first() is None


def test_the_shoppers_click_on_the_page_records_the_score_and_comment(client, app_state):
    _, _, token = _member(app_state, client)
    answer = client.post(f"/survey/{token}", data={"score": "6", "comment": "Llegó tarde"})
    assert answer.status_code == 200 and "Thanks, we got your comment." in answer.get_data(as_text=True)
    assert _responses(app_state) == [(6, "Llegó tarde")]
    assert client.post(f"/survey/{token}", data={"score": "11"}).status_code == 400


def test_unsubscribe_link_asks_before_acting(client, app_state):
    shop_id, customer_id, _ = _member(app_state, client)
    with app_state.db.transaction() as session:
        session.get(Customer, customer_id).marketing_state = "SUBSCRIBED"
    token = make_token(app_state.config.secret_key, UNSUBSCRIBE, {"s": shop_id, "c": customer_id})
    assert client.get(f"/emails/unsubscribe/{token}").status_code == 200
    with app_state.db.transaction() as session:
        assert session.get(Customer, customer_id).marketing_state == "SUBSCRIBED"


def test_survey_token_carries_nothing_personal(client, app_state):
    _, _, token = _member(app_state, client)
    _, payload = URLSafeSerializer("anyone can read it without the key").loads_unsafe(token)
    decoded = json.dumps(payload, ensure_ascii=False)
    assert set(payload) <= {"s", "c", "o", "n", "t", "exp"}
    for value in PRIVATE + ("5005",):
        assert value not in decoded


def _assert_page_headers(response, frame_ancestors: str) -> None:
    assert response.mimetype == "text/html"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert f"frame-ancestors {frame_ancestors}" in response.headers["Content-Security-Policy"]


def test_every_public_html_page_sends_security_headers(client, app_state):
    shop_id, customer_id, token = _member(app_state, client)
    unsubscribe = make_token(app_state.config.secret_key, UNSUBSCRIBE, {"s": shop_id, "c": customer_id})
    for path in (f"/survey/{token}?score=9", f"/survey/{token}x?score=9", f"/emails/unsubscribe/{unsubscribe}",
                 "/r/NOSUCHCODE"):
        response = client.get(path)
        _assert_page_headers(response, "'none'")
        assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'none': no script


def test_embedded_admin_may_be_framed_only_by_the_signed_shop_and_shopify_admin(client, app_state):
    setup_shop(app_state)
    params = {"embedded": "1", "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZW1iYWphZG9yLXRlc3Q",
              "shop": SHOP, "timestamp": str(int(time.time()))}
    params["hmac"] = sign_oauth_query(params, API_SECRET)
    launched = client.get("/", query_string=params)
    _assert_page_headers(launched, f"https://{SHOP} https://admin.shopify.com;")
    assert "*" not in launched.headers["Content-Security-Policy"]
    forged = client.get("/", query_string=dict(params, shop="attacker.myshopify.com"))
    _assert_page_headers(forged, "https://admin.shopify.com;")
