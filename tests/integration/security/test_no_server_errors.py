"""Attack 9: inputs that used to produce a 500 — hostile nesting, huge numbers, a race on a
shopper's first visit — must get a clear 4xx (or the right answer) and write nothing."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from plugin.models import Customer, WebhookDelivery
from tests.integration.conftest import bearer, session_token
from tests.integration.security.conftest import member_with_points, points_of, proxy_query, setup_shop
from tests.shopify_requests import post_webhook

NESTED = b"[" * 100_000
JUST_UNDER_THE_INTERPRETER_LIMIT = b'{"reward_id": ' + b"[" * 900 + b"]" * 900 + b"}"


def test_a_signed_webhook_of_deeply_nested_json_is_stored_as_failed_not_a_500(client, app_state):
    setup_shop(app_state)
    response = post_webhook(client, "orders/paid", NESTED)
    assert response.status_code == 200
    with app_state.db.transaction() as session:
        status, error = session.execute(select(WebhookDelivery.status, WebhookDelivery.last_error)).one()
    assert status == "failed" and "JSONTooDeep" in error


def test_deeply_nested_bodies_to_the_proxy_and_admin_are_400(client, app_state):
    setup_shop(app_state)
    member_with_points(app_state, client, "5005", 1000, "ana@example.cl")
    auth = dict(bearer(session_token()), **{"Content-Type": "application/json"})
    for body in (NESTED, JUST_UNDER_THE_INTERPRETER_LIMIT):
        for method, path, headers in (("post", f"/proxy/redeem?{proxy_query('5005')}", {}),
                                      ("post", f"/proxy/birthday?{proxy_query('5005')}", {}),
                                      ("put", "/api/program", auth)):
            response = getattr(client, method)(path, data=body, headers=dict(headers, **{
                "Content-Type": "application/json"}))
            assert 400 <= response.status_code < 500, (path, response.status_code)
            assert response.is_json and response.get_json()["error"]
    assert points_of(app_state, "5005") == 1000


def test_adjustments_beyond_a_32_bit_balance_are_400_and_change_nothing(client, app_state):
    setup_shop(app_state)
    member_with_points(app_state, client, "5005", 1000, "ana@example.cl")
    for points in (2**31, 10**30, -(2**31)):
        response = client.post("/api/customers/5005/adjust", json={"points": points, "reason": "bonus"},
                               headers=bearer(session_token()))
        assert response.status_code == 400 and "points" in response.get_json()["error"]
    assert points_of(app_state, "5005") == 1000


def test_a_program_with_absurd_numbers_is_400(client, app_state):
    setup_shop(app_state)
    auth = bearer(session_token())
    program = client.get("/api/program", headers=auth).get_json()
    program = program.get("program", program)
    program["actions"]["signup"] = 10**30
    response = client.put("/api/program", json=program, headers=auth)
    assert response.status_code == 400 and "signup" in response.get_data(as_text=True)


def test_twenty_simultaneous_first_visits_of_an_unseen_shopper_all_succeed_with_one_row(client, app, app_state):
    setup_shop(app_state)
    query = proxy_query("777000111")
    barrier, statuses = threading.Barrier(20), []

    def visit():
        with app.test_client() as own_client:
            barrier.wait()
            statuses.append(own_client.get(f"/proxy/customer?{query}").status_code)

    threads = [threading.Thread(target=visit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * 20
    with app_state.db.transaction() as session:
        assert session.execute(select(func.count()).select_from(Customer)
                               .where(Customer.shopify_id == "777000111")).scalar_one() == 1
