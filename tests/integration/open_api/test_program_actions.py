"""actions.custom goes through the one validator everywhere the program enters: `program import`
(one line naming the field), the admin's PUT /api/program (the field's path), and export."""
from __future__ import annotations

import json

from tests.integration.conftest import bearer, session_token
from tests.integration.loyalty.conftest import setup_shop
from tests.shopify_requests import SHOP


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["embajador", *args])


def test_program_import_takes_custom_actions_and_names_a_bad_field(app, app_state, client, tmp_path):
    setup_shop(app_state)
    doc = json.loads(cli(app, "program", "export", "--shop", SHOP).output)
    assert "custom" not in doc["actions"]  # today's integer actions, unchanged
    doc["actions"]["custom"] = [{"id": "review", "points": 50, "limit": 10, "cooldown": "P1D"}]
    good = tmp_path / "program.json"
    good.write_text(json.dumps(doc))
    assert cli(app, "program", "import", "--shop", SHOP, str(good)).exit_code == 0
    exported = json.loads(cli(app, "program", "export", "--shop", SHOP).output)
    assert exported["actions"]["custom"] == [{"id": "review", "points": 50, "limit": 10, "cooldown": "P1D"}]
    doc["actions"]["custom"].append({"id": "review", "points": 5})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = cli(app, "program", "import", "--shop", SHOP, str(bad))
    assert result.exit_code != 0 and len(result.output.strip().splitlines()) == 1
    assert "actions.custom[1].id" in result.output and "duplicate" in result.output
    doc["actions"]["custom"] = [{"id": "review", "points": 50, "cooldown": "every day"}]
    response = client.put("/api/program", json=doc, headers=bearer(session_token()))
    assert response.status_code == 400 and response.get_json()["path"] == "actions.custom[0].cooldown"
    assert json.loads(cli(app, "program", "export", "--shop", SHOP).output)["actions"]["custom"][0]["cooldown"] == "P1D"
