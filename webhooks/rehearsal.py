"""A dress rehearsal of orders/paid, rolled back: the RQ worker's warm-up before it forks.

The worker forks a work horse per job; whatever a horse computes for the first time dies
with it. SQLAlchemy compiles each statement (and builds each ORM row loader) on first use
and caches it on the engine, so a horse forked from a parent that never ran a query paid
that again for every job: ~35 of the ~70 ms of CPU an order cost (bench/RESULTS.md).
Here the parent runs two made-up orders from one made-up customer (a first order that
opts in to marketing, then a returning one) through the real handler, inside one transaction that is always rolled back:
nothing is committed, no job is enqueued (a queue that drops everything stands in), and the
made-up shop has no access token, so nothing can call Shopify. Its connection is closed
and the pool emptied afterwards: the horses inherit the caches, never a socket.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from datetime import timedelta

from plugin.app_state import AppState
from plugin.logs import get_logger
from plugin.models import Shop, WebhookDelivery, utcnow
from webhooks.processing import process_delivery

log = get_logger("webhooks.rehearsal")


class _DroppingQueue:
    """Accepts every job and runs none: nothing the rehearsal does may leave the process."""

    def enqueue(self, func_path: str, *args, job_id: str, timeout: int = 300,
                unless_waiting: bool = False) -> bool:
        return True

    def enqueue_once(self, func_path: str, *args, job_id: str, delay: timedelta) -> bool:
        return True


def rehearsal_order(order_id: int, customer_id: int, email: str, at, accepts_marketing: bool) -> dict:
    """An orders/paid body with the fields the handler reads, as Shopify names them
    (shared/fixtures/shopify/webhooks/orders__paid.json)."""
    money = {"amount": "40.00", "currency_code": "USD"}
    return {"id": order_id, "name": f"#{order_id}", "email": email, "currency": "USD", "presentment_currency": "USD",
            "created_at": at.isoformat(), "processed_at": at.isoformat(), "updated_at": at.isoformat(),
            "cancelled_at": None, "financial_status": "paid", "source_name": "web", "taxes_included": False,
            "buyer_accepts_marketing": accepts_marketing, "subtotal_price": "40.00", "discount_codes": [],
            "subtotal_price_set": {"shop_money": money, "presentment_money": money},
            "line_items": [{"id": order_id * 10, "price": "40.00", "price_set": {"shop_money": money,
                            "presentment_money": money}, "quantity": 1, "gift_card": False, "tax_lines": []}],
            "customer": {"id": customer_id, "email": email}}


@contextmanager
def _rolled_back(app_state: AppState):
    """Every session the code opens joins one outer transaction (its commits become
    savepoint releases), which is rolled back at the end whatever happened."""
    db, queue = app_state.db, app_state.queue
    connection = db.engine.connect()
    outer = connection.begin()
    db.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
    app_state.queue = _DroppingQueue()
    try:
        yield
    finally:
        app_state.queue = queue
        db.sessionmaker.kw.pop("join_transaction_mode", None)
        db.sessionmaker.configure(bind=db.engine)
        outer.rollback()
        connection.close()
        db.engine.dispose()


def rehearse_orders_paid(app_state: AppState) -> list[str]:
    """Warm-up step (``AppState.warm_up``): the rehearsed deliveries' statuses (empty when
    skipped). On any failure the worker just starts colder."""
    statuses: list[str] = []
    if not app_state.db.is_postgres:
        return statuses
    tag = f"{os.getpid()}-{utcnow().strftime('%H%M%S%f')}"
    now = utcnow()
    try:
        with _rolled_back(app_state), app_state.db.transaction() as session:
            shop = Shop(domain=f"warm-up-{tag}.invalid", currency="USD", settings={})
            session.add(shop)
            for setup in app_state.shop_setup:
                setup(shop)
            session.flush()
            email = f"warm-up-{tag}@example.invalid"
            rows = [WebhookDelivery(shop_domain=shop.domain, shop_id=shop.id, topic="orders/paid",
                                    dedupe_key=f"warm-up-{tag}-{n}",
                                    payload=json.dumps(rehearsal_order(n, 1, email, now - timedelta(minutes=2 - n), n == 1)))
                    for n in (1, 2)]
            session.add_all(rows)
            session.flush()
            statuses = [process_delivery(app_state, row.id, now) for row in rows]
    except Exception as exc:  # noqa: BLE001 - a warm-up must never stop the worker from starting
        log.warning("worker warm-up skipped: %s", type(exc).__name__)
    return statuses
