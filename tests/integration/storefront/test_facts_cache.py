"""A repeat widget visit takes the ledger's facts from the web process's cache (storefront/
facts_cache.py): one small statement beside the shop's, and after any change — points earned,
refunded or redeemed, a release falling due, the oldest order leaving the rolling window, a
program change, a new locale, a redaction — exactly the answer a fresh read gives."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from plugin.models import Customer, Shop, utcnow
from plugin.storefront import views
from plugin.storefront.facts_cache import EXTENSION_KEY
from tests.integration.loyalty.conftest import JON, payable, proxy_params, recently, send, setup_shop, shopper_with
from tests.shopify_requests import SHOP, fixture_payload


def answer(client) -> dict:
    response = client.get("/proxy/customer", query_string=proxy_params(JON))
    assert response.status_code == 200
    return response.get_json()


def cached_then_fresh(app, client) -> tuple[dict, dict]:
    """The answer through the cache, then the one a process without it would give."""
    cached = answer(client)
    app.extensions[EXTENSION_KEY].clear()
    return cached, answer(client)


@contextmanager
def statements(app_state):
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)
    # Listeners on the Engine also hear its execution_options() copies (db.read()'s autocommit engine).
    event.listen(app_state.db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(app_state.db.engine, "before_cursor_execute", count)


def test_a_repeat_visit_reads_one_small_statement_beside_the_shop_and_answers_the_same(app, client, app_state):
    setup_shop(app_state)
    shopper_with(app_state, client, 40)
    send(client, "orders/paid", payable(at=recently()))
    first = answer(client)
    with statements(app_state) as seen:
        repeat = answer(client)
    assert len(seen) == 2, seen
    assert "sum(" not in seen[1].lower(), "nothing summed over the ledger"
    assert repeat == first
    app.extensions[EXTENSION_KEY].clear()
    assert answer(client) == first


def _earn(app_state, client, monkeypatch):
    send(client, "orders/paid", payable(at=recently(0), id=4242, name="#4242"))


def _refund(app_state, client, monkeypatch):
    refund = fixture_payload("refunds__create.json")
    refund["refund_line_items"] = refund["refund_line_items"][:1]
    send(client, "refunds/create", refund)


def _release_due(app_state, client, monkeypatch):
    # The order's points release 14 days after it; no tick has run yet.
    later = utcnow() + timedelta(days=15)
    monkeypatch.setattr(views, "utcnow", lambda: later)


def _year_passes(app_state, client, monkeypatch):
    # The order 300 days ago leaves the rolling 12 months (as does the release, long due).
    later = utcnow() + timedelta(days=70)
    monkeypatch.setattr(views, "utcnow", lambda: later)


def _program_change(app_state, client, monkeypatch):
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop)).scalar_one()
        shop.program = dict(shop.program, tier_period="lifetime")


def _locale(app_state, client, monkeypatch):
    with app_state.db.transaction() as session:
        session.execute(select(Customer)).scalar_one().locale = "pt-BR"


def _redact(app_state, client, monkeypatch):
    redact = fixture_payload("customers__redact.json")
    redact["customer"].update(id=int(JON), email="jon@example.com")
    redact["shop_domain"] = SHOP
    send(client, "customers/redact", redact)


def _gold_on_spend(app_state) -> None:
    """Oro at 2,000 spent, so the tier progress shows which orders the window counts."""
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop)).scalar_one()
        tiers = [dict(t, threshold={"metric": "spend", "value": "2000.00"}) if t["name"] == "Oro" else t
                 for t in shop.program["tiers"]]
        shop.program = dict(shop.program, tiers=tiers)


@pytest.mark.parametrize("change", [_earn, _refund, _release_due, _year_passes, _program_change, _locale, _redact],
                         ids=lambda change: change.__name__.strip("_"))
def test_after_a_change_the_cached_answer_is_the_fresh_one(app, client, app_state, monkeypatch, change):
    setup_shop(app_state)
    _gold_on_spend(app_state)
    shopper_with(app_state, client, 40)
    send(client, "orders/paid", payable(at=recently(400), id=2000, name="#2000"))  # only a lifetime counts it
    send(client, "orders/paid", payable(at=recently(300), id=3000, name="#3000"))
    send(client, "orders/paid", payable(at=recently(1)))  # 359 points pending for 14 days
    before = answer(client)
    answer(client)  # kept
    change(app_state, client, monkeypatch)
    cached, fresh = cached_then_fresh(app, client)
    assert cached != before, "the change shows in the widget"
    assert cached == fresh


def test_after_a_redemption_the_cached_answer_is_the_fresh_one(app, client, app_state, fake_admin):
    setup_shop(app_state)
    shopper_with(app_state, client, 5000)
    before = answer(client)
    answer(client)
    assert client.post("/proxy/redeem", query_string=proxy_params(JON), json={"reward_id": "ship"}).status_code == 200
    cached, fresh = cached_then_fresh(app, client)
    assert cached["activity"][0]["kind"] == "redeem" and cached["codes"], "the new code and its entry show"
    assert cached != before and cached == fresh


def test_the_cache_can_be_turned_off(pg_url, migrated):
    from plugin import create_app
    from tests.conftest import base_env
    app = create_app(base_env(pg_url, PROXY_FACTS_CACHE_SIZE="0"))
    try:
        assert app.extensions[EXTENSION_KEY].size == 0
    finally:
        app.extensions["embajador"].db.dispose()


def test_ledger_ids_come_from_a_sequence_that_hands_them_out_one_at_a_time(app_state):
    """The ledger version (largest id) relies on ids growing in commit order under the customer's
    lock: a sequence CACHE above 1 would let another connection insert a smaller id later."""
    from sqlalchemy import text
    with app_state.db.transaction() as session:
        cache_size = session.execute(text(
            "SELECT seqcache FROM pg_sequence"
            " WHERE seqrelid = pg_get_serial_sequence('ledger_entries', 'id')::regclass")).scalars().all()
    assert cache_size == [1]
