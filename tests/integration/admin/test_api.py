"""The embedded admin API: every endpoint needs a session token, sees only its own shop,
and answers bad input with the field that is wrong."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from plugin.models import Complaint, Customer, LedgerEntry, OutboxMessage, Referral, Shop
from plugin.models.program_versions import ProgramVersion
from tests.integration.admin.admin_support import auth, seed_shop
from tests.integration.conftest import add_shop
from tests.shopify_requests import SHOP

# (method, path, json body) — every admin endpoint added for the merchant's admin.
# {c} {r} {x} {e} are the other shop's customer, referral, complaint and export ids.
ENDPOINTS = [
    ("GET", "/api/onboarding", None),
    ("POST", "/api/onboarding/program", {"preset": "vip"}),
    ("POST", "/api/onboarding/sender", {"from_email": "yo@tienda.test"}),
    ("POST", "/api/onboarding/theme", {"enabled": True}),
    ("POST", "/api/onboarding/live", {}),
    ("GET", "/api/program", None),
    ("POST", "/api/program/validate", {}),
    ("GET", "/api/program/versions", None),
    ("POST", "/api/program/versions/1/rollback", {}),
    ("GET", "/api/customers?q=ana", None),
    ("GET", "/api/customers/{c}", None),
    ("POST", "/api/customers/{c}/adjust", {"points": 5, "reason": "x"}),
    ("PUT", "/api/customers/{c}/birthday", {"birthday": "1990-01-02"}),
    ("GET", "/api/referrals?status=held", None),
    ("GET", "/api/referrals/leaderboard", None),
    ("POST", "/api/referrals/{r}/approve", {}),
    ("POST", "/api/referrals/{r}/reject", {"reason": "x"}),
    ("GET", "/api/complaints", None),
    ("POST", "/api/complaints/{x}/answer", {"answer": "hola"}),
    ("POST", "/api/complaints/{x}/close", {}),
    ("GET", "/api/data-exports", None),
    ("GET", "/api/data-exports/{e}", None),
    ("GET", "/api/emails/flows", None),
    ("PUT", "/api/emails/flows/welcome", {"enabled": False, "delay_minutes": 30}),
    ("GET", "/api/emails/preview/welcome?locale=es", None),
    ("POST", "/api/emails/test", {"flow": "welcome", "locale": "es"}),
    ("GET", "/api/analytics/summary", None),
    ("GET", "/api/analytics/export/customers.csv", None),
    ("GET", "/api/analytics/export/ledger.csv", None),
    ("GET", "/api/analytics/export/members_vs_non_members.csv", None),
    ("GET", "/api/whatif", None),
    ("POST", "/api/whatif", {"program": {}}),
    ("GET", "/api/whatif/1", None),
    ("POST", "/api/loyalty-import/dry-run", {"csv": "email,points\nsomeone@example.com,5\n"}),
    ("POST", "/api/loyalty-import/apply", {"csv": "email,points\nsomeone@example.com,5\n"}),
]


def _call(client, method, path, body, seeded, headers=None):
    url = path.format(c=seeded.customer_shopify_id, r=seeded.referral_id, x=seeded.complaint_id, e=seeded.export_id)
    return client.open(url, method=method, json=body, headers=headers or {})


def _snapshot(app_state, shop_id):
    """Everything an admin call could change in a shop."""
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        return {
            "program": shop.program, "settings": shop.settings,
            "ledger": session.execute(select(func.count()).select_from(LedgerEntry)
                                      .where(LedgerEntry.shop_id == shop_id)).scalar_one(),
            "referrals": [(r.id, r.status) for r in session.execute(Referral.for_shop(shop_id)).scalars()],
            "complaints": [(c.id, c.status, c.answer) for c in session.execute(Complaint.for_shop(shop_id)).scalars()],
            "birthdays": [c.birthday for c in session.execute(Customer.for_shop(shop_id)).scalars()],
            "versions": session.execute(select(func.count()).select_from(ProgramVersion)
                                        .where(ProgramVersion.shop_id == shop_id)).scalar_one(),
            "outbox": session.execute(select(func.count()).select_from(OutboxMessage)
                                      .where(OutboxMessage.shop_id == shop_id)).scalar_one(),
        }


@pytest.mark.parametrize("method,path,body", ENDPOINTS)
def test_every_endpoint_refuses_a_call_without_a_session_token(client, app_state, method, path, body):
    seeded = seed_shop(app_state)
    response = _call(client, method, path, body, seeded)
    assert response.status_code == 401
    assert response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"


@pytest.mark.parametrize("method,path,body", ENDPOINTS)
def test_another_shops_token_can_neither_read_nor_change_its_data(client, app_state, method, path, body):
    seeded = seed_shop(app_state)
    add_shop(app_state)  # SHOP: the caller, a different installed store
    before = _snapshot(app_state, seeded.shop_id)
    response = _call(client, method, path, body, seeded, headers=auth(SHOP))
    assert response.status_code in (200, 202, 400, 404, 409), response.get_data(as_text=True)
    text = response.get_data(as_text=True)
    for secret in ("Secreta", "ana@otra.test", "amiga@otra.test", "dueno@otra.test", "900001", "tarde"):
        assert secret not in text
    assert _snapshot(app_state, seeded.shop_id) == before


def test_program_save_reports_the_bad_field_and_writes_nothing(client, app_state):
    add_shop(app_state)
    program = client.get("/api/program", headers=auth()).get_json()
    program["tiers"][1]["multiplier"] = 99
    response = client.put("/api/program", json=program, headers=auth())
    assert response.status_code == 400
    body = response.get_json()
    assert body["path"] == "tiers[1].multiplier"
    assert "tiers[1].multiplier" in body["errors"]
    assert client.get("/api/program/versions", headers=auth()).get_json()["versions"] == []


def test_validate_gives_field_errors_and_a_preview(client, app_state):
    add_shop(app_state)
    program = client.get("/api/program", headers=auth()).get_json()
    ok = client.post("/api/program/validate", json=program, headers=auth()).get_json()
    assert ok["valid"] is True
    assert ok["preview"][0]["points"] == 50  # 50 × per_amount at 1 point per unit, base tier
    program["earn"]["per_amount"] = "0"
    bad = client.post("/api/program/validate", json=program, headers=auth()).get_json()
    assert bad["valid"] is False and bad["path"] == "earn.per_amount"


def test_editing_a_tier_saves_a_version_and_rollback_restores_it(client, app_state):
    add_shop(app_state)
    program = client.get("/api/program", headers=auth()).get_json()
    original = program["tiers"][1]["multiplier"]
    program["tiers"][1]["multiplier"] = 2
    saved = client.put("/api/program", json=program, headers=auth())
    assert saved.status_code == 200 and saved.get_json()["tiers"][1]["multiplier"] == 2
    versions = client.get("/api/program/versions", headers=auth()).get_json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]  # v1 = the program before the first save
    restored = client.post("/api/program/versions/1/rollback", headers=auth())
    assert restored.get_json()["tiers"][1]["multiplier"] == original
    assert client.get("/api/program", headers=auth()).get_json()["tiers"][1]["multiplier"] == original
    assert client.post("/api/program/versions/99/rollback", headers=auth()).status_code == 404


@pytest.mark.parametrize("body,field", [
    ({"points": 10}, "reason"),
    ({"points": 10, "reason": "  "}, "reason"),
    ({"points": "10", "reason": "gift"}, "points"),
    ({"points": 0, "reason": "gift"}, "points"),
    ({"points": True, "reason": "gift"}, "points"),
])
def test_adjusting_needs_whole_points_and_a_reason(client, app_state, body, field):
    seeded = seed_shop(app_state, domain=SHOP)
    response = client.post(f"/api/customers/{seeded.customer_shopify_id}/adjust", json=body, headers=auth())
    assert response.status_code == 400
    assert field in response.get_json()["errors"]
    detail = client.get(f"/api/customers/{seeded.customer_shopify_id}", headers=auth()).get_json()
    assert detail["points"]["available"] == 700


def test_customer_page_shows_balance_ledger_referrals_emails_and_surveys(client, app_state):
    seeded = seed_shop(app_state, domain=SHOP)
    found = client.get("/api/customers?q=SECRETA", headers=auth()).get_json()["customers"]
    assert [c["id"] for c in found] == ["900001"]
    client.post("/api/customers/900001/adjust", json={"points": -200, "reason": "duplicate order"}, headers=auth())
    page = client.get("/api/customers/900001", headers=auth()).get_json()
    assert page["points"]["available"] == 500
    assert [e["reason"] for e in page["ledger"]] == ["duplicate order", "welcome gift"]
    assert page["referrals"][0]["status"] == "held"
    friend = client.get("/api/customers/900002", headers=auth()).get_json()
    assert friend["surveys"][0]["score"] == 3
    assert seeded.referral_id


@pytest.mark.parametrize("path,body,field", [
    ("/api/onboarding/program", {"preset": "platinum"}, "preset"),
    ("/api/onboarding/sender", {"from_email": "not-an-email"}, "from_email"),
    ("/api/onboarding/theme", {"enabled": "yes"}, "enabled"),
    ("/api/emails/test", {"flow": "nope", "locale": "es"}, "flow"),
    ("/api/emails/test", {"flow": "welcome", "locale": "fr"}, "locale"),
])
def test_bad_input_names_the_field(client, app_state, path, body, field):
    add_shop(app_state)
    response = client.post(path, json=body, headers=auth())
    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_onboarding_runs_from_preset_to_live(client, app_state):
    add_shop(app_state)
    first = client.get("/api/onboarding", headers=auth()).get_json()
    assert [p["id"] for p in first["presets"]] == ["simple", "vip", "referrals"]
    assert not any(first["steps"].values())
    refused = client.post("/api/onboarding/live", headers=auth())
    assert refused.status_code == 409 and "program" in refused.get_json()["error"]
    chosen = client.post("/api/onboarding/program", json={"preset": "simple"}, headers=auth()).get_json()
    assert chosen["steps"]["program"] and client.get("/api/program", headers=auth()).get_json()["tiers"] == []
    sender = client.post("/api/onboarding/sender", json={"from_email": "Dueno@Tienda.test"}, headers=auth()).get_json()
    assert sender["steps"]["sender"] and sender["sender"]["test_status"] == "outbox"
    assert "activateAppId=test-api-key/" in sender["theme_editor_url"]
    client.post("/api/onboarding/theme", json={"enabled": True}, headers=auth())
    with app_state.db.transaction() as session:  # the import itself is tested in test_backfill.py
        shop = session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        shop.settings = {**shop.settings, "onboarding": {**shop.settings["onboarding"],
                                                          "import": {"status": "done", "done": 3, "total": 3}}}
    live = client.post("/api/onboarding/live", headers=auth())
    assert live.status_code == 200 and live.get_json()["steps"]["live"] is True
