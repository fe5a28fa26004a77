"""What-if through the real app: a draft program replayed on the orders table and the ledger
(Postgres), as an RQ job whose progress the admin polls, from the CLI, and on the demo's own
history. Every expected number is worked out by hand in the comments."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from rq.job import Job

from plugin.loyalty.rules.program import dump_program, load_program
from plugin.models import Customer, LedgerEntry, Shop, utcnow
from plugin.models.whatif import WhatifRun
from plugin.orders.facts import OrderFacts
from plugin.orders.store import record_order
from tests.integration.admin.admin_support import OTHER, at, auth
from tests.integration.conftest import add_shop, run_worker
from tests.shopify_requests import SHOP

LIVE = {
    "currency": "USD",
    "earn": {"points": 1, "per_amount": "1", "pending_days": 0, "on": "orders/paid"},
    "actions": {"signup": 10},
    "tiers": [{"name": "Bronze", "threshold": {"metric": "spend", "value": "0"}, "multiplier": 1},
              {"name": "Silver", "threshold": {"metric": "spend", "value": "150"}, "multiplier": 2,
               "entry_points": 20}],
    "tier_period": "lifetime",
    "rewards": [{"id": "5off", "name": "$5 off", "cost": 500, "type": "fixed_amount", "value": "5.00"}],
}
# Richer: 2 points per $1, Silver from $100, 30 signup points. Same $0.01 per point.
DRAFT = dict(LIVE, earn=dict(LIVE["earn"], points=2), actions={"signup": 30},
             tiers=[LIVE["tiers"][0], dict(LIVE["tiers"][1], threshold={"metric": "spend", "value": "100"})])


def _order(session, shop_id, order_id, customer, placed, total, current=None, status="paid", cancelled=False):
    record_order(session, shop_id, OrderFacts(
        order_id=str(order_id), customer_shopify_id=customer, placed_at=at(placed), total=Decimal(total),
        current_total=Decimal(current or total), currency="USD", financial_status=status, cancelled=cancelled,
        source_name="web", updated_at=at(placed)))


def seed(app_state, domain=None) -> int:
    """Customer 1001: signup (10 live points), order 1 of $120 whose live earn entry was on a $100
    base, order 2 of $80 refunded down to $40. Customer 1002: order 3 of $60, order 6 still
    pending payment (never earns on orders/paid). A guest order and a cancelled one count for
    nobody. Ledger: 110 points issued, 22 redeemed → observed redemption rate 1/5."""
    shop_id = add_shop(app_state, **({"domain": domain} if domain else {}))
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        shop.program = dump_program(load_program(LIVE))
        first, second = Customer(shop_id=shop_id, shopify_id="1001", email="ana@example.com"), \
            Customer(shop_id=shop_id, shopify_id="1002", email="bea@example.com")
        session.add_all([first, second])
        session.flush()
        for key, kind, points, when, extra in (
                (f"customer:{first.id}:action:signup:once", "action", 10, "2026-01-01T09:00:00", {}),
                ("order:1:earn", "earn", 100, "2026-01-10T10:00:00",
                 {"order_id": "1", "base_amount": Decimal("100.00"), "currency": "USD"}),
                ("redemption:1:redeem", "redeem", -22, "2026-03-01T10:00:00", {})):
            session.add(LedgerEntry(shop_id=shop_id, customer_id=first.id, key=key, kind=kind, available=points,
                                    reason=kind, source="test", occurred_at=at(when), **extra))
        _order(session, shop_id, 1, "1001", "2026-01-10T10:00:00", "120.00")
        _order(session, shop_id, 2, "1001", "2026-02-10T10:00:00", "80.00", current="40.00",
               status="partially_refunded")
        _order(session, shop_id, 3, "1002", "2026-01-15T10:00:00", "60.00")
        _order(session, shop_id, 6, "1002", "2026-03-01T10:00:00", "50.00", status="pending")
        _order(session, shop_id, 4, None, "2026-01-20T10:00:00", "500.00")
        _order(session, shop_id, 5, "1002", "2026-01-21T10:00:00", "999.00", cancelled=True)
    return shop_id


def check_report(report: dict) -> None:
    # Live: 1001 signup 10 + order 1 floor(100 × 1) = 100 (Jan) + order 2 80 points less
    # floor(80 × 40/80) = 40 clawed = 40 (Feb); spend 140 < 150 stays Bronze. 1002: 60 (Jan).
    # Draft: 1001 signup 30 + order 1 200, spend 100 reaches Silver (+20 entry) = 250 (Jan); order 2 at
    # Silver × 2: floor(80 × 2 × 2) = 320, minus floor(320 × 40/80) = 160 → 160 (Feb). 1002: 120 (Jan).
    assert (report["orders"], report["customers"], report["redemption_rate"]) == (4, 2, "0.2000")
    assert report["months"] == [{"month": "2026-01", "live": 170, "draft": 370},
                                {"month": "2026-02", "live": 40, "draft": 160}]
    # Expected redemptions at 1/5: live floor(150/5) + floor(60/5) = 42; draft floor(410/5) + floor(120/5) = 106.
    assert report["live"] == {"issued": 210, "expected_redeemed": 42, "expired": 0, "outstanding": 168,
                              "point_value": "0.01", "liability": {"amount": "1.68", "currency": "USD"},
                              "expected_redemptions": {"amount": "0.42", "currency": "USD"}}
    assert report["draft"] == {"issued": 530, "expected_redeemed": 106, "expired": 0, "outstanding": 424,
                               "point_value": "0.01", "liability": {"amount": "4.24", "currency": "USD"},
                               "expected_redemptions": {"amount": "1.06", "currency": "USD"}}
    assert report["liability_change"] == {"amount": "2.56", "currency": "USD"}
    assert report["tiers"] == [{"tier": "Bronze", "live": 2, "draft": 1}, {"tier": "Silver", "live": 0, "draft": 1}]
    assert report["tier_changes"]["count"] == 1
    assert report["tier_changes"]["transitions"] == [{"from": "Bronze", "to": "Silver", "customers": 1}]


def test_a_run_is_a_job_whose_progress_the_page_polls_then_the_report(rq_app):
    app_state = rq_app.extensions["embajador"]
    seed(app_state)
    client = rq_app.test_client()
    started = client.post("/api/whatif", json={"program": DRAFT}, headers=auth())
    assert started.status_code == 202
    run = started.get_json()
    assert (run["status"], run["done"], run["report"]) == ("queued", 0, None)
    assert client.get(f"/api/whatif/{run['id']}", headers=auth()).get_json()["status"] == "queued"
    job = Job.fetch(f"whatif-{run['id']}", connection=app_state.queue.connection)
    assert job.timeout == 3600  # a large shop's replay outlives RQ's default 300 s

    run_worker(app_state)

    finished = client.get(f"/api/whatif/{run['id']}", headers=auth()).get_json()
    assert (finished["status"], finished["done"], finished["total"]) == ("done", 4, 4)
    check_report(finished["report"])
    assert finished["report"]["tier_changes"]["customers"] == [
        {"customer": "1001", "email": "ana@example.com", "from": "Bronze", "to": "Silver"}]
    listed = client.get("/api/whatif", headers=auth()).get_json()
    assert listed["program"]["earn"]["points"] == 1  # the live program, the page's starting draft
    assert listed["runs"][0]["id"] == run["id"] and listed["runs"][0]["liability_change"]["amount"] == "2.56"
    with app_state.db.transaction() as session:  # nothing of the shop changed
        assert session.query(LedgerEntry).count() == 3
        assert {c.tier_name for c in session.query(Customer)} == {None}


def test_bad_drafts_are_refused_with_the_field_and_other_shops_see_nothing(rq_app):
    app_state = rq_app.extensions["embajador"]
    seed(app_state)
    client = rq_app.test_client()
    bad = client.post("/api/whatif", json={"program": dict(DRAFT, earn=dict(DRAFT["earn"], points="many"))},
                      headers=auth())
    assert bad.status_code == 400 and bad.get_json()["path"] == "earn.points"
    other_money = client.post("/api/whatif", json={"program": dict(DRAFT, currency="EUR")}, headers=auth())
    assert other_money.status_code == 400 and other_money.get_json()["path"] == "currency"
    assert client.post("/api/whatif", data="[[[", headers=auth()).status_code == 400
    assert client.post("/api/whatif", json={"program": DRAFT}).status_code == 401
    run_id = client.post("/api/whatif", json={"program": DRAFT}, headers=auth()).get_json()["id"]
    add_shop(app_state, domain=OTHER)
    assert client.get(f"/api/whatif/{run_id}", headers=auth(OTHER)).status_code == 404
    assert client.get("/api/whatif", headers=auth(OTHER)).get_json()["runs"] == []


def test_the_cli_prints_the_same_comparison(app, tmp_path):
    seed(app.extensions["embajador"])
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(DRAFT))
    runner = app.test_cli_runner()
    as_json = runner.invoke(args=["embajador", "program", "whatif", "--shop", SHOP,
                                  "--json", str(draft)])
    assert as_json.exit_code == 0, as_json.output
    check_report(json.loads(as_json.output))
    table = runner.invoke(args=["embajador", "program", "whatif", "--shop", SHOP, str(draft)])
    assert table.exit_code == 0, table.output
    assert "liability change: 2.56 USD" in table.output
    lines = [line.split() for line in table.output.splitlines()]
    assert ["points", "issued", "210", "530", "+320"] in lines
    assert ["liability", "(USD)", "1.68", "4.24", "+2.56"] in lines
    assert ["Bronze", "Silver", "1"] in lines  # customers who would change tier, from → to
    draft.write_text(json.dumps(dict(DRAFT, tiers=[{"name": "X", "threshold": {"metric": "age", "value": "1"}}])))
    refused = runner.invoke(args=["embajador", "program", "whatif", "--shop", SHOP, str(draft)])
    assert refused.exit_code == 1 and "tiers[0].threshold.metric" in refused.output
    add_shop(app.extensions["embajador"], domain=OTHER)  # a new store: no history yet
    draft.write_text(json.dumps(DRAFT))
    empty = runner.invoke(args=["embajador", "program", "whatif", "--shop", OTHER, "--json", str(draft)])
    assert empty.exit_code == 0, empty.output
    report = json.loads(empty.output)
    assert (report["orders"], report["customers"], report["months"]) == (0, 0, [])
    assert report["liability_change"] == {"amount": "0.00", "currency": "USD"}


def test_the_admin_pages_speak_the_merchants_language(client):
    spanish = client.get("/whatif?locale=es-CL").get_data(as_text=True)
    assert "Borrador del programa" in spanish and 'id="whatif-run"' in spanish and "Simulador" in spanish
    portuguese = client.get("/import?locale=pt-BR").get_data(as_text=True)
    assert "Traga os pontos do seu app anterior" in portuguese and 'id="import-dry-run"' in portuguese
    english = client.get("/import?locale=en").get_data(as_text=True)
    assert "Apply opening balances" in english and "Smile" in english and "LoyaltyLion" in english


def test_a_run_whose_job_redis_lost_is_handed_over_again_when_the_page_polls(rq_app):
    app_state = rq_app.extensions["embajador"]
    seed(app_state)
    client = rq_app.test_client()
    run_id = client.post("/api/whatif", json={"program": DRAFT}, headers=auth()).get_json()["id"]
    app_state.queue.connection.flushdb()  # Redis restarted empty: the job is gone
    run_worker(app_state)
    assert client.get(f"/api/whatif/{run_id}", headers=auth()).get_json()["status"] == "queued"
    run_worker(app_state)  # a fresh poll (< 2 min) sends nothing again
    with app_state.db.transaction() as session:
        session.get(WhatifRun, run_id).created_at = utcnow() - timedelta(minutes=3)
    assert client.get(f"/api/whatif/{run_id}", headers=auth()).get_json()["status"] == "queued"
    run_worker(app_state)
    finished = client.get(f"/api/whatif/{run_id}", headers=auth()).get_json()
    assert finished["status"] == "done"
    check_report(finished["report"])


def test_a_run_whose_worker_died_is_queued_again_when_the_page_polls(rq_app):
    app_state = rq_app.extensions["embajador"]
    seed(app_state)
    client = rq_app.test_client()
    run_id = client.post("/api/whatif", json={"program": DRAFT}, headers=auth()).get_json()["id"]
    app_state.queue.connection.flushdb()
    with app_state.db.transaction() as session:  # a worker took it, wrote progress, then was killed
        run = session.get(WhatifRun, run_id)
        run.status, run.done, run.updated_at = "running", 2, utcnow() - timedelta(minutes=9)
    assert client.get(f"/api/whatif/{run_id}", headers=auth()).get_json()["status"] == "running"
    with app_state.db.transaction() as session:
        session.get(WhatifRun, run_id).updated_at = utcnow() - timedelta(minutes=11)
    assert client.get(f"/api/whatif/{run_id}", headers=auth()).get_json()["status"] == "queued"
    run_worker(app_state)
    finished = client.get(f"/api/whatif/{run_id}", headers=auth()).get_json()
    assert (finished["status"], finished["done"]) == ("done", 4)
