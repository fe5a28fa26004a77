"""The worker's warm-up before forking (plugin/jobs/worker.py, webhooks/rehearsal.py): it runs
real orders/paid work and leaves nothing behind — no row, no job, no open connection."""
from __future__ import annotations

import gc
from datetime import datetime

from sqlalchemy import func, select

from plugin.jobs.worker import warm
from plugin.models import Customer, LedgerEntry, LoyaltyOrder, Order, Shop, WebhookDelivery
from tests.shopify_requests import fixture_payload
from webhooks.rehearsal import rehearsal_order, rehearse_orders_paid

TABLES = (Shop, WebhookDelivery, Order, LoyaltyOrder, Customer, LedgerEntry)


def _counts(app_state) -> dict:
    with app_state.db.transaction() as session:
        return {m.__tablename__: session.execute(select(func.count()).select_from(m)).scalar_one() for m in TABLES}


def test_the_rehearsal_awards_for_real_then_leaves_no_row_no_job_and_no_connection(rq_app):
    app_state = rq_app.extensions["embajador"]
    before = _counts(app_state)
    assert rehearse_orders_paid(app_state) == ["processed", "processed"]  # a first and a returning order
    pool = app_state.db.engine.pool
    assert pool.checkedout() == 0 and pool.checkedin() == 0  # nothing a forked horse could inherit
    assert _counts(app_state) == before == {t.__tablename__: 0 for t in TABLES}
    assert app_state.queue.connection.keys("rq:*") == []  # the metafield sync was not scheduled


def test_after_the_warm_up_the_app_still_commits_through_its_own_engine(rq_app):
    app_state = rq_app.extensions["embajador"]
    try:
        warm(rq_app)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    with app_state.db.transaction() as session:  # the rehearsal's outer transaction is gone
        session.add(Shop(domain="after-warm-up.myshopify.com", currency="USD", settings={}))
    assert _counts(app_state)["shops"] == 1


def test_the_rehearsed_order_uses_only_fields_shopify_sends():
    real = fixture_payload("orders__paid.json")
    made_up = rehearsal_order(1, 1, "a@example.invalid", datetime.fromisoformat("2026-11-30T00:00:00+00:00"), True)
    assert set(made_up) <= set(real)
    assert set(made_up["line_items"][0]) <= set(real["line_items"][0])
    assert set(made_up["customer"]) <= set(real["customer"])
    assert set(made_up["subtotal_price_set"]["shop_money"]) <= set(real["subtotal_price_set"]["shop_money"])
