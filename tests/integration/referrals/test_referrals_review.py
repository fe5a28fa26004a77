"""The merchant reviews held referrals from the CLI or the embedded admin: approve pays once, reject pays nothing."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from plugin.cli import embajador
from plugin.models import Shop, utcnow
from plugin.referrals.attribution import on_order_refunded
from tests.integration.conftest import bearer, session_token
from tests.integration.referrals.conftest import (
    ADVOCATE,
    FRIEND,
    advocate_with_history,
    customer,
    events,
    friend_code_from,
    land,
    pay,
    referral_entries,
    referrals,
    refund_payload,
)
from tests.shopify_requests import SHOP, post_webhook


def held_self_referral(client, app_state) -> dict:
    link = advocate_with_history(client, app_state)
    pay(client, ADVOCATE, codes=[friend_code_from(land(client, link["code"], ADVOCATE))])
    [referral] = referrals(app_state)
    assert referral.status == "held"
    return dict(link, referral_id=referral.id)


def cli(app, *args):
    return app.test_cli_runner().invoke(embajador, ["referrals", *args])


def test_cli_lists_held_referrals_with_their_reasons(app, client, app_state, shop_fake):
    held = held_self_referral(client, app_state)
    result = cli(app, "list", "--shop", SHOP, "--status", "held")
    assert result.exit_code == 0, result.output
    assert f"#{held['referral_id']} held" in result.output
    assert "self_referral: The friend is the advocate" in result.output
    assert cli(app, "list", "--shop", SHOP, "--status", "successful").output.strip() == "no referrals"


def test_cli_approve_awards_the_points_once(app, client, app_state, shop_fake):
    held = held_self_referral(client, app_state)
    first = cli(app, "approve", "--shop", SHOP, str(held["referral_id"]))
    again = cli(app, "approve", "--shop", SHOP, str(held["referral_id"]))
    assert first.exit_code == again.exit_code == 0, first.output
    assert "approved: 500 points to Valentina Rojas" in first.output
    [referral] = referrals(app_state)
    assert (referral.status, referral.reviewed_by, referral.points_awarded) == ("successful", "cli", 500)
    assert [e.pending for e in referral_entries(app_state, held["customer_id"])] == [500]
    assert len(events(app_state, "referral_reward")) == 1


def test_cli_reject_keeps_the_reason_and_pays_nothing(app, client, app_state, shop_fake):
    held = held_self_referral(client, app_state)
    result = cli(app, "reject", "--shop", SHOP, "--reason", "she bought for herself", str(held["referral_id"]))
    assert result.exit_code == 0, result.output
    [referral] = referrals(app_state)
    assert (referral.status, referral.review_note) == ("rejected", "she bought for herself")
    assert referral_entries(app_state, held["customer_id"]) == []
    approve_after = cli(app, "approve", "--shop", SHOP, str(held["referral_id"]))
    assert approve_after.exit_code == 1 and "is rejected" in approve_after.output
    assert "no referral 999" in cli(app, "approve", "--shop", SHOP, "999").output


def test_admin_api_lists_approves_and_rejects(client, app_state, shop_fake):
    held = held_self_referral(client, app_state)
    headers = bearer(session_token())
    listed = client.get("/api/referrals?status=held", headers=headers).get_json()["referrals"]
    assert [r["id"] for r in listed] == [held["referral_id"]]
    assert listed[0]["hold_reasons"][0]["code"] == "self_referral"
    assert client.get("/api/referrals").status_code == 401
    assert client.get("/api/referrals?status=bogus", headers=headers).status_code == 400

    assert client.post(f"/api/referrals/{held['referral_id']}/reject", json={}, headers=headers).status_code == 400
    approved = client.post(f"/api/referrals/{held['referral_id']}/approve", headers=headers)
    assert approved.status_code == 200
    body = approved.get_json()["referral"]
    assert body["status"] == "successful" and body["reviewed_by"] == "staff:42"
    assert customer(app_state, held["customer_id"]).points_pending == 100 + 500
    assert client.post("/api/referrals/999/approve", headers=headers).status_code == 404


def test_a_refund_after_the_pending_window_keeps_the_reward(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    payload = pay(client, FRIEND, codes=[friend_code_from(land(client, link["code"], FRIEND))])
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        late = utcnow() + timedelta(days=15)
        outcome = on_order_refunded(session, shop, str(payload["id"]), late, "delivery:0")
        assert outcome["referral_status"] == "successful"
    assert [e.kind for e in referral_entries(app_state, link["customer_id"])] == ["referral"]
    post_webhook(client, "refunds/create", refund_payload(payload["id"]))  # within the window: cancelled
    assert referrals(app_state)[0].status == "cancelled"
