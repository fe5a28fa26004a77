"""The per-order advisory lock (``plugin.loyalty.order_notes.lock_order``): taken once per
transaction however many steps ask for it, and taken again by the next transaction."""
from __future__ import annotations

from sqlalchemy import event, text

from plugin.loyalty.order_notes import lock_order
from tests.integration.loyalty.conftest import payable, send, setup_shop

KEY = "loyalty-order:{shop}:{order}"


def _lock_statements(engine, run) -> int:
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        if "pg_advisory_xact_lock" in statement:
            seen.append(statement)
    event.listen(engine, "before_cursor_execute", note)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return len(seen)


def _held_elsewhere(engine, key: str) -> bool:
    """Could another connection take the lock now? (``pg_try_advisory_xact_lock`` does not wait.)"""
    with engine.connect() as other:
        return not other.execute(text("SELECT pg_try_advisory_xact_lock(hashtext(:k))"), {"k": key}).scalar_one()


def test_an_order_paid_takes_its_order_lock_once(app):
    app_state = app.extensions["embajador"]
    setup_shop(app_state)
    count = _lock_statements(app_state.db.engine,
                             lambda: send(app.test_client(), "orders/paid", payable(), event_id="lock-once"))
    assert count == 1  # the handler's lock; awarding's own ask costs no second round trip


def test_the_next_transaction_takes_the_lock_again_and_holds_it(app):
    app_state = app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    key = KEY.format(shop=shop_id, order="42")
    engine = app_state.db.engine

    def first():
        with app_state.db.transaction() as session:
            lock_order(session, shop_id, "42")
            lock_order(session, shop_id, "42")
            assert _held_elsewhere(engine, key)
    assert _lock_statements(engine, first) == 1
    assert not _held_elsewhere(engine, key)  # released at commit

    def second():
        with app_state.db.transaction() as session:
            lock_order(session, shop_id, "42")
            assert _held_elsewhere(engine, key)  # remembered locks were forgotten at commit
    assert _lock_statements(engine, second) == 1
