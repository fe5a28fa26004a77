"""The merchant's levers: program import/export, manual adjustments, ledger verification."""
from __future__ import annotations

import json

from sqlalchemy import update

from plugin.loyalty.rules.program import default_program, dump_program
from plugin.models import Customer
from tests.integration.conftest import add_shop, bearer, session_token
from tests.integration.loyalty.conftest import assert_no_drift, entries, payable, recently, send, setup_shop
from tests.shopify_requests import SHOP

JON = "115310627314723954"


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["embajador", *args])


def test_program_import_validates_and_export_round_trips(app, app_state, tmp_path):
    setup_shop(app_state)
    doc = dump_program(default_program("USD"))
    doc["earn"]["points"] = 3
    good = tmp_path / "program.json"
    good.write_text(json.dumps(doc))
    assert cli(app, "program", "import", "--shop", SHOP, str(good)).exit_code == 0
    exported = json.loads(cli(app, "program", "export", "--shop", SHOP).output)
    assert exported["earn"]["points"] == 3
    doc["tiers"][1]["threshold"]["metric"] = "likes"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = cli(app, "program", "import", "--shop", SHOP, str(bad))
    assert result.exit_code != 0
    assert "tiers[1].threshold.metric" in result.output and len(result.output.strip().splitlines()) == 1
    assert json.loads(cli(app, "program", "export", "--shop", SHOP).output)["earn"]["points"] == 3


def test_points_adjust_requires_a_reason_and_shows_in_the_ledger(app, app_state, client):
    setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently()))
    no_reason = cli(app, "points", "adjust", "--shop", SHOP, "--customer", JON, "--points", "50", "--reason", " ")
    assert no_reason.exit_code != 0 and "reason" in no_reason.output
    ok = cli(app, "points", "adjust", "--shop", SHOP, "--customer", "jon@example.com", "--points", "50",
             "--reason", "sorry for the late parcel")
    assert ok.exit_code == 0 and "available 150" in ok.output
    shown = cli(app, "points", "show", "--shop", SHOP, "--customer", JON).output
    assert "sorry for the late parcel" in shown and "tier Plata" in shown


def test_points_verify_finds_and_repairs_drift(app, app_state, client):
    setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently()))
    assert "0 drifting" in cli(app, "points", "verify", "--shop", SHOP).output
    with app_state.db.transaction() as session:
        session.execute(update(Customer).values(points_available=Customer.points_available + 7))
    found = cli(app, "points", "verify", "--shop", SHOP)
    assert found.exit_code == 1 and "available +7" in found.output
    assert cli(app, "points", "verify", "--shop", SHOP, "--repair").exit_code == 0
    assert_no_drift(app_state)


def test_admin_program_api_validates_with_the_field_path(client, app_state):
    setup_shop(app_state)
    headers = bearer(session_token())
    doc = client.get("/api/program", headers=headers).get_json()
    doc["rewards"][0]["cost"] = -5
    refused = client.put("/api/program", headers=headers, json=doc)
    assert refused.status_code == 400 and refused.get_json()["path"].startswith("rewards[0]")
    doc["rewards"][0]["cost"] = 700
    assert client.put("/api/program", headers=headers, json=doc).status_code == 200
    assert client.get("/api/program", headers=headers).get_json()["rewards"][0]["cost"] == 700
    assert client.get("/api/program").status_code == 401


def test_admin_adjust_and_ledger_are_scoped_to_the_shop(client, app_state):
    setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently()))
    headers = bearer(session_token())
    missing_reason = client.post(f"/api/customers/{JON}/adjust", headers=headers, json={"points": 10})
    assert missing_reason.status_code == 400 and "reason" in missing_reason.get_json()["error"]
    ok = client.post(f"/api/customers/{JON}/adjust", headers=headers, json={"points": -40, "reason": "duplicate"})
    assert ok.get_json()["points"] == {"available": 60, "pending": 359}
    ledger = client.get(f"/api/customers/{JON}/ledger", headers=headers).get_json()
    assert ledger["entries"][0]["reason"] == "duplicate" and ledger["entries"][0]["source"] == "admin:42"
    other = add_shop(app_state, "other-shop.myshopify.com")
    with app_state.db.transaction() as session:  # the same Shopify id in another shop
        session.add(Customer(shop_id=other, shopify_id=JON, points_available=999))
    again = client.get(f"/api/customers/{JON}/ledger", headers=headers).get_json()
    assert again["points"]["available"] == 60
    other_headers = bearer(session_token(shop="other-shop.myshopify.com"))
    assert client.get(f"/api/customers/{JON}/ledger", headers=other_headers).get_json()["entries"] == []
    assert len(entries(app_state, "adjust")) == 1
