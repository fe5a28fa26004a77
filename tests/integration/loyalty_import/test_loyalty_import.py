"""Switching from another loyalty app through the real app (Postgres): the admin's dry run
writes nothing, apply writes one opening balance per matched customer, a second apply writes
nothing; the CLI reads Smile's and LoyaltyLion's column names, or any file with --map."""
from __future__ import annotations

import json
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from plugin.loyalty.rules.program import dump_program, load_program
from plugin.models import Customer, LedgerEntry, Shop
from tests.integration.admin.admin_support import OTHER, auth
from tests.integration.conftest import add_shop
from tests.shopify_requests import SHOP

PROGRAM = {
    "currency": "USD", "earn": {"points": 1, "per_amount": "1"},
    "tiers": [{"name": "Bronze", "threshold": {"metric": "spend", "value": "0"}},
              {"name": "Silver", "threshold": {"metric": "spend", "value": "500"}, "multiplier": 1.5},
              {"name": "Gold", "threshold": {"metric": "spend", "value": "2000"}, "multiplier": 2}],
    "tier_period": "lifetime",
}
# Smile's documented customer fields (https://dev.smile.io/ui/objects/customer); 1004 = no year.
SMILE_CSV = """first_name,email,points_balance,vip_tier,referral_url,date_of_birth
Ana,Ana@Example.com,1200,silver,http://i.refs.cc/ANA12345,1990-05-17
Bea,bea@example.com,300,Gold,,1004-08-02
Ciro,ciro@example.com,500,Platinum,,
Nadie,nobody@example.com,700,,,
Malo,not-an-email,10,,,
Ana again,ana@example.com,99,,,
Negativo,neg@example.com,-5,,,
"""


def seed(app_state) -> int:
    shop_id = add_shop(app_state)
    with app_state.db.transaction() as session:
        session.get(Shop, shop_id).program = dump_program(load_program(PROGRAM))
        session.add_all([Customer(shop_id=shop_id, shopify_id="2001", email="ana@example.com"),
                         Customer(shop_id=shop_id, shopify_id="2002", email="bea@example.com", tier_name="Gold"),
                         Customer(shop_id=shop_id, shopify_id="2003", email="ciro@example.com")])
    return shop_id


def _ledger(app_state, shop_id) -> list[tuple[str, int, str]]:
    with app_state.db.transaction() as session:
        return [(c.email, e.available, e.key) for e, c in session.execute(
            select(LedgerEntry, Customer).join(Customer, Customer.id == LedgerEntry.customer_id)
            .where(LedgerEntry.shop_id == shop_id).order_by(LedgerEntry.id))]


def test_dry_run_then_apply_once_from_the_admin(client, app_state):
    shop_id = seed(app_state)
    body = {"csv": SMILE_CSV, "source": "smile"}
    dry = client.post("/api/loyalty-import/dry-run", json=body, headers=auth())
    assert dry.status_code == 200
    report = dry.get_json()
    assert report["columns"] == {"email": "email", "points": "points_balance", "tier": "vip_tier",
                                 "referral_code": "referral_url", "birthday": "date_of_birth"}
    assert (report["rows"], report["valid"], report["invalid"]) == (7, 4, 3)
    assert [(p["line"], p["field"]) for p in report["problems"]] == [(6, "email"), (7, "email"), (8, "points")]
    assert (report["matched"], report["unmatched"], report["unmatched_emails"]) == (3, 1, ["nobody@example.com"])
    assert report["points"] == {"matched": 2000, "unmatched": 700, "to_write": 2000}
    assert (report["to_write"], report["already_imported"]) == (3, 0)
    assert report["tiers"] == {"Gold": 1, "Silver": 1} and report["unknown_tiers"] == {"Platinum": 1}
    assert report["notes"] == [{"line": 3, "field": "birthday", "message":
                                "day and month only (Smile writes the year 1004); a birthday needs its year here; "
                                "ignored"}]
    assert _ledger(app_state, shop_id) == []  # a dry run writes nothing

    applied = client.post("/api/loyalty-import/apply", json=body, headers=auth()).get_json()
    assert applied["written"] == {"entries": 3, "points": 2000, "tiers": 1, "birthdays": 1, "referral_codes": 1,
                                  "refused": []}
    with app_state.db.transaction() as session:
        ana, bea, ciro = session.execute(Customer.for_shop(shop_id).order_by(Customer.shopify_id)).scalars()
        assert (ana.points_available, ana.tier_name, ana.birthday, ana.referral_code) == (
            1200, "Silver", date(1990, 5, 17), "ANA12345")
        assert (bea.points_available, bea.tier_name, bea.birthday) == (300, "Gold", None)
        assert (ciro.points_available, ciro.tier_name) == (500, "Bronze")  # Platinum is no tier here
        keys = {c.email: f"adjust:opening-balance-{c.id}" for c in (ana, bea, ciro)}
    assert _ledger(app_state, shop_id) == [("ana@example.com", 1200, keys["ana@example.com"]),
                                           ("bea@example.com", 300, keys["bea@example.com"]),
                                           ("ciro@example.com", 500, keys["ciro@example.com"])]

    again = client.post("/api/loyalty-import/apply", json=body, headers=auth()).get_json()
    assert again["written"]["entries"] == 0 and again["already_imported"] == 3 and again["to_write"] == 0
    assert len(_ledger(app_state, shop_id)) == 3


def test_unreadable_files_are_a_400_naming_the_problem(client, app_state):
    seed(app_state)
    no_points = client.post("/api/loyalty-import/dry-run", json={"csv": "email,name\na@b.co,A\n"}, headers=auth())
    assert no_points.status_code == 400 and no_points.get_json()["field"] == "columns"
    assert "--map points=" in no_points.get_json()["error"]
    empty = client.post("/api/loyalty-import/dry-run", json={"csv": ""}, headers=auth())
    assert empty.status_code == 400 and empty.get_json()["field"] == "csv"
    bad_map = client.post("/api/loyalty-import/apply", json={"csv": SMILE_CSV, "mapping": {"points": "Puntos"}},
                          headers=auth())
    assert bad_map.status_code == 400 and bad_map.get_json()["field"] == "map"
    assert client.post("/api/loyalty-import/apply", json={"csv": SMILE_CSV}).status_code == 401


def test_another_shop_cannot_match_these_customers(client, app_state):
    shop_id = seed(app_state)
    add_shop(app_state, domain=OTHER)
    report = client.post("/api/loyalty-import/apply", json={"csv": SMILE_CSV}, headers=auth(OTHER)).get_json()
    assert report["matched"] == 0 and report["written"]["entries"] == 0
    assert _ledger(app_state, shop_id) == []


def test_cli_reads_loyaltylion_columns_and_any_file_with_a_mapping(app, tmp_path):
    app_state = app.extensions["embajador"]
    shop_id = seed(app_state)
    runner = app.test_cli_runner()
    lion = tmp_path / "loyaltylion.csv"
    lion.write_text("email,points_approved,points_pending,tier\nana@example.com,800,50,Silver\n", "utf-8")
    dry = runner.invoke(args=["embajador", "import-loyalty", "--shop", SHOP, "--source", "loyaltylion", str(lion)])
    assert dry.exit_code == 0, dry.output
    assert "matched customers: 1 (800 points)" in dry.output and "dry run: nothing written" in dry.output
    assert _ledger(app_state, shop_id) == []

    custom = tmp_path / "custom.csv"
    custom.write_text("\ufeffCorreo;Saldo de puntos\nbea@example.com;450\nnadie@example.com;10\n", "utf-8")
    args = ["embajador", "import-loyalty", "--shop", SHOP, "--map", "email=Correo", "--map", "points=Saldo de puntos",
            "--apply", str(custom)]
    applied = runner.invoke(args=args)
    assert applied.exit_code == 0, applied.output
    assert "unmatched: nadie@example.com" in applied.output
    assert "written: 1 opening balances, 450 points" in applied.output
    assert runner.invoke(args=args).output.count("written: 0 opening balances, 0 points") == 1
    with app_state.db.transaction() as session:
        assert session.execute(select(func.sum(LedgerEntry.available))
                               .where(LedgerEntry.shop_id == shop_id)).scalar_one() == 450

    refused = runner.invoke(args=["embajador", "import-loyalty", "--shop", SHOP, "--map", "points", str(custom)])
    assert refused.exit_code == 1 and "--map: write FIELD=Column header" in refused.output


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                         max_size=4), max_leaves=12)
csv_text = st.lists(st.lists(st.text(max_size=12), min_size=1, max_size=5), max_size=6).map(
    lambda rows: "\n".join(",".join(cells) for cells in rows))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values | st.fixed_dictionaries({"csv": csv_text, "source": st.sampled_from(["auto", "smile", "x"]),
                                                 "mapping": json_values}))
def test_hostile_bodies_are_a_4xx_and_write_nothing(client, app_state, body):
    if not _ledger_shop(app_state):
        seed(app_state)
    for path in ("/api/loyalty-import/dry-run", "/api/loyalty-import/apply", "/api/whatif"):
        response = client.post(path, data=json.dumps(body), content_type="application/json", headers=auth())
        assert response.status_code in (200, 202, 400), (path, response.status_code, body)
    with app_state.db.transaction() as session:
        assert session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == 0


def _ledger_shop(app_state):
    with app_state.db.transaction() as session:
        return session.execute(select(Shop.id)).first()
