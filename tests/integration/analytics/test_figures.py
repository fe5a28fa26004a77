"""The orders table (fed by order webhooks) and the analytics figures, checked against values
computed by hand on a small seeded shop, on PostgreSQL and on the demo's SQLite; the rollups
kept by the order store and the ledger equal the figures computed from the source tables."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from rq import SimpleWorker
from sqlalchemy import event, select, text

from plugin import create_app
from plugin.analytics import queries, reference
from plugin.analytics.live import compute_figures
from plugin.analytics.report import csv_lines, summary
from plugin.loyalty.balances import post_entry
from plugin.loyalty.rules.ledger import Entry
from plugin.loyalty.rules.program import default_program, dump_program, load_program
from plugin.loyalty.tier_sync import reevaluate_tier
from plugin.models import (
    Base,
    Customer,
    EmailEvent,
    LedgerEntry,
    OutboxMessage,
    Referral,
    ReferralClick,
    Shop,
    SurveyResponse,
    utcnow,
)
from plugin.models.analytics import AnalyticsRollupState
from plugin.models.orders import Order
from plugin.rollups import store
from plugin.rollups.store import compact, rebuild
from tests.conftest import base_env
from tests.integration.admin.admin_support import at, auth, order
from tests.integration.conftest import add_shop
from tests.shopify_requests import fixture_payload, post_webhook

FIXTURE = "orders__create.2026-04.json"


def _orders(app_state):
    with app_state.db.transaction() as session:
        return [(o.order_id, o.total, o.current_total, o.cancelled, o.customer_shopify_id)
                for o in session.execute(select(Order)).scalars()]


def test_order_webhooks_fill_the_orders_table_once_and_converge(client, app_state):
    add_shop(app_state)
    payload = fixture_payload(FIXTURE)
    payload.update(cancelled_at=None, updated_at="2026-11-20T10:00:00-03:00")
    post_webhook(client, "orders/create", json.dumps(payload, default=str).encode())
    post_webhook(client, "orders/create", json.dumps(payload, default=str).encode())  # a new event, same order
    assert _orders(app_state) == [("820982911946154508", Decimal("404.95"), Decimal("414.95"), False,
                                   "115310627314723954")]
    refunded = dict(payload, updated_at="2026-11-22T10:00:00-03:00",
                    current_total_price_set={"shop_money": {"amount": "314.95", "currency_code": "USD"},
                                             "presentment_money": {"amount": "314.95", "currency_code": "USD"}})
    post_webhook(client, "orders/updated", json.dumps(refunded, default=str).encode())
    stale = dict(payload, updated_at="2026-11-21T10:00:00-03:00", cancelled_at="2026-11-21T10:00:00-03:00")
    post_webhook(client, "orders/updated", json.dumps(stale, default=str).encode())  # older: ignored
    assert _orders(app_state)[0][2:4] == (Decimal("314.95"), False)
    cancelled = dict(refunded, updated_at="2026-11-23T10:00:00-03:00", cancelled_at="2026-11-23T10:00:00-03:00")
    post_webhook(client, "orders/cancelled", json.dumps(cancelled, default=str).encode())
    assert _orders(app_state)[0][3] is True


def seed_analytics(app_state) -> int:
    """The dataset the expected numbers below were computed from by hand."""
    shop_id = add_shop(app_state)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        program = dump_program(default_program("USD", "es"))
        shop.program = dump_program(load_program(dict(program, point_value="0.02")))
        people = {sid: Customer(shop_id=shop_id, shopify_id=sid, email=f"{sid}@example.com", tier_name=tier,
                                points_available=points)
                  for sid, tier, points in (("900101", "Plata", 200), ("900102", "Bronce", 150),
                                            ("900201", None, 0), ("900202", None, 0))}
        session.add_all(people.values())
        session.flush()
        m1, m2 = people["900101"].id, people["900102"].id
        for n, (cid, kind, pts) in enumerate([(m1, "earn", 300), (m1, "redeem", -100), (m2, "action", 200),
                                              (m2, "expire", -50)]):
            session.add(LedgerEntry(shop_id=shop_id, customer_id=cid, key=f"k{n}", kind=kind, available=pts,
                                    reason=kind, source="test", occurred_at=at("2026-03-01T12:00:00")))
        for oid, sid, placed, total, extra in (
                (1, "900101", "2026-01-10T10:00:00", "100.00", {}), (2, "900101", "2026-03-05T10:00:00", "50.00", {}),
                (3, "900102", "2026-01-20T10:00:00", "30.00", {}), (4, "900201", "2026-02-01T10:00:00", "10.00", {}),
                (5, "900201", "2026-02-15T10:00:00", "10.00", {}),
                (6, "900201", "2026-04-01T10:00:00", "10.00", {"current": "5.00"}),
                (7, "900202", "2026-02-03T10:00:00", "20.00", {}),
                (8, "900202", "2026-02-04T10:00:00", "999.00", {"cancelled": True}),
                (9, None, "2026-02-05T10:00:00", "40.00", {})):
            order(shop_id, session, oid, sid, placed, total, **extra)
        clicks = [ReferralClick(shop_id=shop_id, advocate_id=m1, ip_hash=ip, ua_hash="u") for ip in ("a", "a", "b")]
        session.add_all(clicks)
        session.add_all([Referral(shop_id=shop_id, advocate_id=m1, email="f1@example.com", friend_order_id="71",
                                  status="successful"),
                         Referral(shop_id=shop_id, advocate_id=m1, email="f2@example.com", friend_order_id="72",
                                  status="held")])
        for n, score in enumerate((10, 9, 5, 7)):
            session.add(SurveyResponse(shop_id=shop_id, order_id=f"s{n}", survey_type="nps", score=score,
                                       created_at=at("2026-03-10T12:00:00")))
        mails = [OutboxMessage(shop_id=shop_id, message_id=f"m{n}", message_key=f"m{n}", flow="welcome", locale="en",
                               status="sent", send_after=at("2026-03-01T00:00:00")) for n in range(2)]
        session.add_all(mails)
        session.flush()
        for n, (mail, event) in enumerate([(mails[0], "delivered"), (mails[1], "delivered"), (mails[0], "open"),
                                           (mails[0], "open"), (mails[0], "click")]):
            session.add(EmailEvent(sg_event_id=f"e{n}", shop_id=shop_id, outbox_id=mail.id, event=event))
    return shop_id


def check_figures(app_state, shop_id: int) -> None:
    with app_state.db.transaction() as session:
        # The seed writes ledger rows around post_entry: build the rollups as a first dashboard view does.
        rebuild(session, shop_id, utcnow())
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        program = load_program(shop.program)
        assert queries.members_vs_non_members(session, shop).rows == [
            ("members", 2, 1, Decimal("50.0"), 3, Decimal("180.00"), Decimal("60.00")),
            ("non_members", 2, 1, Decimal("50.0"), 4, Decimal("45.00"), Decimal("11.25"))]
        assert queries.monthly_revenue(session, shop).rows == [
            ("2026-01", 2, Decimal("130.00"), 0, Decimal("0")), ("2026-02", 0, Decimal("0"), 4, Decimal("80.00")),
            ("2026-03", 1, Decimal("50.00"), 0, Decimal("0")), ("2026-04", 0, Decimal("0"), 1, Decimal("5.00"))]
        cohorts = queries.retention_cohorts(session, shop).rows
        assert [(c[0], c[1], c[2], c[3]) for c in cohorts] == [
            ("2026-01", 2, Decimal("0.0"), Decimal("50.0")), ("2026-02", 2, Decimal("0.0"), Decimal("50.0"))]
        assert queries.points_flow(session, shop).rows == [("2026-03", 500, 100, 50)]
        owed = queries.liability(session, shop, program)
        assert (owed["points"], owed["money"]) == (350, Decimal("7.00"))
        assert queries.point_value(default_program("USD")) == Decimal("0.01")  # $5 reward for 500 points
        assert queries.tier_distribution(session, shop, program).rows == [("Bronce", 1), ("Plata", 1), ("Oro", 0)]
        assert queries.referral_funnel(session, shop).rows == [("clicks", 3), ("friends", 2), ("first_orders", 2),
                                                               ("successful", 1)]
        assert queries.feedback_scores(session, shop).rows == [("2026-03", "nps", 4, Decimal("25.0"))]
        assert queries.email_rates(session, shop).rows == [("welcome", 2, Decimal("100.0"), Decimal("50.0"),
                                                            Decimal("50.0"))]
        page = summary(shop, compute_figures(session, shop, program), utcnow(), "es")
        assert {k["id"]: k["value"] for k in page["kpis"]}["redemption_rate"] == "20.0 %"
        assert len(page["charts"]) == 9 and all(c["svg"].startswith("<svg") for c in page["charts"])
        ledger_csv = "".join(csv_lines(session, shop, program, "ledger")).splitlines()
        assert len(ledger_csv) == 5 and ledger_csv[0].startswith("entry_id,customer_shopify_id,kind")


def test_analytics_match_hand_computed_values_on_postgres(app_state):
    check_figures(app_state, seed_analytics(app_state))


def test_analytics_match_hand_computed_values_on_sqlite(tmp_path, pg_url):
    app = create_app(base_env(pg_url, DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}"))
    sqlite_state = app.extensions["embajador"]
    Base.metadata.create_all(sqlite_state.db.engine)
    with app.app_context():
        check_figures(sqlite_state, seed_analytics(sqlite_state))
    sqlite_state.db.dispose()


def test_analytics_endpoint_and_csv_need_their_own_shop(client, app_state):
    seed_analytics(app_state)
    summary_json = client.get("/api/analytics/summary?lang=pt", headers=auth()).get_json()
    assert summary_json["charts"][0]["title"] == "Membros vs não membros"
    csv_text = client.get("/api/analytics/export/members_vs_non_members.csv", headers=auth()).get_data(as_text=True)
    assert csv_text.splitlines()[1] == "members,2,1,50.0,3,180.00,60.00"
    assert client.get("/api/analytics/export/nope.csv", headers=auth()).status_code == 404


@pytest.mark.parametrize("text,expected", [("=HYPERLINK(1)", "'=HYPERLINK(1)"), ("-5", "-5"), ("@x", "'@x")])
def test_csv_cells_cannot_become_spreadsheet_formulas(text, expected):
    from plugin.analytics.report import _line
    assert _line([text]).strip() == expected


def test_the_dashboard_shows_a_new_order_at_once_and_a_day_old_build_is_rebuilt_in_the_background(rq_app):
    app_state = rq_app.extensions["embajador"]
    shop_id = seed_analytics(app_state)
    client = rq_app.test_client()
    client.get("/api/analytics/summary", headers=auth())  # first view: the rebuild goes to the worker
    assert f"analytics-rebuild-{shop_id}-first" in app_state.queue.queue.job_ids
    SimpleWorker([app_state.queue.queue], connection=app_state.queue.connection).work(burst=True)
    first = client.get("/api/analytics/summary", headers=auth()).get_json()
    assert first["charts"][0]["rows"][0][4] == 3  # members' orders
    assert first["charts"][3]["rows"] == [["2026-03", 500, 100, 50]]  # points (the seed wrote the ledger directly)
    with app_state.db.transaction() as session:
        order(shop_id, session, 99, "900101", "2026-04-02T10:00:00", "500.00")
    fresh = client.get("/api/analytics/summary", headers=auth()).get_json()
    assert fresh["charts"][0]["rows"][0][4] == 4  # 3 + the new one, no refresh needed
    assert not app_state.queue.queue.job_ids
    with app_state.db.transaction() as session:
        state = session.execute(AnalyticsRollupState.for_shop(shop_id)).scalar_one()
        state.built_at = at("2026-01-01T00:00:00")
    client.get("/api/analytics/summary", headers=auth())
    queue = app_state.queue.queue
    assert any(job_id.startswith(f"analytics-rebuild-{shop_id}-") for job_id in queue.job_ids)
    SimpleWorker([queue], connection=app_state.queue.connection).work(burst=True)
    with app_state.db.transaction() as session:
        assert session.execute(AnalyticsRollupState.for_shop(shop_id)).scalar_one().built_at > at("2026-01-02T00:00:00")
    again = client.get("/api/analytics/summary", headers=auth()).get_json()
    assert again["charts"][0]["rows"] == fresh["charts"][0]["rows"]


def _rollup_vs_reference(session, shop) -> None:
    for name in ("members_vs_non_members", "monthly_revenue", "retention_cohorts", "points_flow", "email_rates"):
        assert getattr(queries, name)(session, shop).rows == getattr(reference, name)(session, shop).rows, name
    program = load_program(shop.program) if shop.program else default_program(shop.currency)
    assert queries.tier_distribution(session, shop, program).rows == \
        reference.tier_distribution(session, shop, program).rows


def test_rollups_kept_by_orders_and_ledger_equal_the_source_tables(app_state):
    """Orders arriving, refunded, cancelled, moved to another customer, guests, and customers
    joining the program after ordering: the incremental rollups equal the source tables and
    a rebuild from them."""
    check_rollups_kept(app_state, add_shop(app_state))


def test_rollups_kept_by_orders_and_ledger_equal_the_source_tables_on_sqlite(tmp_path, pg_url):
    app = create_app(base_env(pg_url, DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}"))
    sqlite_state = app.extensions["embajador"]
    Base.metadata.create_all(sqlite_state.db.engine)
    try:
        check_rollups_kept(sqlite_state, add_shop(sqlite_state))
    finally:
        sqlite_state.db.dispose()


def test_a_returning_customers_order_moves_their_rollups_without_reading_their_order_history(app_state):
    """Each order of a customer seen before applies only its own difference (the cost per order
    does not grow with the customer's history), across separate transactions, and the figures
    still equal the source tables after new orders, a refund and a cancellation."""
    shop_id = add_shop(app_state)
    with app_state.db.transaction() as session:
        order(shop_id, session, 1, "905", "2026-01-10T10:00:00", "100.00")  # first sight: filled from orders
    statements: list[str] = []

    def note(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()))

    event.listen(app_state.db.engine, "before_cursor_execute", note)
    try:
        for number, placed in enumerate(("2026-01-20", "2026-02-03", "2026-02-28", "2026-04-01"), start=2):
            with app_state.db.transaction() as session:
                order(shop_id, session, number, "905", f"{placed}T10:00:00", "20.00")
        with app_state.db.transaction() as session:
            order(shop_id, session, 2, "905", "2026-01-20T10:00:00", "20.00", current="5.00")  # refund
            order(shop_id, session, 3, "905", "2026-02-03T10:00:00", "20.00", cancelled=True)
    finally:
        event.remove(app_state.db.engine, "before_cursor_execute", note)
    by_customer = [s for s in statements if "FROM orders" in s and "orders.customer_shopify_id = " in s.split("WHERE")[-1]]
    assert not by_customer  # no read of the customer's orders (the order's own row lock is all)
    # The customer row's UPDATE travels in the statement that inserts the order's month/group/
    # cohort changes: one round trip, not two.
    assert not [s for s in statements if s.startswith("UPDATE analytics_customers")]
    assert len([s for s in statements if s.startswith("WITH") and "UPDATE analytics_customers" in s]) == 6
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        _rollup_vs_reference(session, shop)
        assert queries.members_vs_non_members(session, shop).rows[1][1:6] == (1, 1, Decimal("100.0"), 4, Decimal("145.00"))


def test_a_first_ledger_entry_counts_the_orders_a_customer_placed_before_their_rollup_row(app_state):
    """Orders written around the services (no rollup row for their customer yet), then the
    customer's first ledger entry, then an order through the services: the member side counts
    all three orders, as the source tables do."""
    shop_id = add_shop(app_state)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        eva = Customer(shop_id=shop_id, shopify_id="907", email="907@example.com")
        session.add(eva)
        rebuild(session, shop_id, utcnow())  # built while the shop had no orders
        session.add_all([Order(shop_id=shop_id, order_id=str(n), customer_shopify_id="907", placed_at=at(placed),
                               total=Decimal("10.00"), current_total=Decimal("10.00"), currency="USD")
                         for n, placed in ((1, "2026-01-05T10:00:00"), (2, "2026-02-05T10:00:00"))])
        session.flush()
        post_entry(session, eva, Entry("k1", "earn", 10, 0), reason="r", source="test",
                   occurred_at=at("2026-02-05T10:00:00"))
        order(shop_id, session, 3, "907", "2026-03-05T10:00:00", "10.00")
        _rollup_vs_reference(session, shop)
        assert queries.members_vs_non_members(session, shop).rows[0][4] == 3


def check_rollups_kept(app_state, shop_id: int) -> None:
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        ana, bea = (Customer(shop_id=shop_id, shopify_id=sid, email=f"{sid}@example.com") for sid in ("901", "902"))
        session.add_all([ana, bea])
        session.flush()
        rebuild(session, shop_id, utcnow())  # an empty shop, built: from here on only the hooks write
        order(shop_id, session, 1, "901", "2026-01-10T10:00:00", "100.00")
        order(shop_id, session, 2, "901", "2026-03-05T10:00:00", "50.00")
        order(shop_id, session, 3, "902", "2026-01-20T10:00:00", "30.00")
        order(shop_id, session, 4, None, "2026-02-05T10:00:00", "40.00")
        order(shop_id, session, 5, "903", "2026-02-07T10:00:00", "70.00")  # a customer we do not know
        _rollup_vs_reference(session, shop)
        post_entry(session, ana, Entry("k1", "earn", 300, 0), reason="r", source="test",
                   occurred_at=at("2026-03-01T12:00:00"))  # ana becomes a member after ordering
        post_entry(session, ana, Entry("k2", "redeem", -100, 0), reason="r", source="test",
                   occurred_at=at("2026-03-02T12:00:00"))
        post_entry(session, bea, Entry("k3", "expire", -20, 0), reason="r", source="test",
                   occurred_at=at("2026-04-02T12:00:00"))
        _rollup_vs_reference(session, shop)
        for customer in (ana, bea):  # both enter the base tier (tier_sync), members both
            reevaluate_tier(session, shop, customer, utcnow())
        assert queries.tier_distribution(session, shop, default_program("USD")).rows[0][1] == 2
        _rollup_vs_reference(session, shop)
        order(shop_id, session, 1, "901", "2026-01-10T10:00:00", "100.00", current="60.00")  # refund
        order(shop_id, session, 2, "901", "2026-03-05T10:00:00", "50.00", cancelled=True)
        order(shop_id, session, 3, "901", "2026-01-20T10:00:00", "30.00")  # moved to ana
        order(shop_id, session, 4, None, "2026-02-05T10:00:00", "40.00", cancelled=True)
        order(shop_id, session, 6, "902", "2026-05-01T10:00:00", "25.00")
        _rollup_vs_reference(session, shop)
        before = session.execute(text("SELECT COUNT(*) FROM analytics_months WHERE shop_id = :s"), {"s": shop_id}).scalar()
        compact(session, shop_id)  # the tick folds the signed changes into one row per key
        after = session.execute(text("SELECT COUNT(*) FROM analytics_months WHERE shop_id = :s"), {"s": shop_id}).scalar()
        assert after < before and after == 3  # one row per (month, side) with orders: 2026-01, -02, -05
        _rollup_vs_reference(session, shop)
        figures = {name: getattr(queries, name)(session, shop).rows for name in queries.TABLES
                   if name != "tier_distribution"}
        rebuild(session, shop_id, utcnow())
        assert {name: getattr(queries, name)(session, shop).rows for name in figures} == figures
        assert queries.members_vs_non_members(session, shop).rows[0][1:5] == (2, 1, Decimal("50.0"), 3)


def test_the_tick_compacts_shops_whose_rollups_grew(app_state, monkeypatch):
    shop_id = add_shop(app_state)
    with app_state.db.transaction() as session:
        rebuild(session, shop_id, utcnow())
        for n in range(1, 8):  # seven orders of one month: seven signed rows
            order(shop_id, session, n, f"90{n}", f"2026-02-0{n}T10:00:00", "10.00")
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        figures = queries.monthly_revenue(session, shop).rows
    monkeypatch.setattr(store, "COMPACT_ABOVE", 5)
    assert store.compact_rollups(app_state, utcnow()) == {"compacted": 1}
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        assert session.execute(text("SELECT COUNT(*) FROM analytics_months WHERE shop_id = :s"),
                               {"s": shop_id}).scalar() == 1
        assert queries.monthly_revenue(session, shop).rows == figures == [
            ("2026-02", 0, Decimal("0"), 7, Decimal("70.00"))]
    assert store.compact_rollups(app_state, utcnow()) == {"compacted": 0}
