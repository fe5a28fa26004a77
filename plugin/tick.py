"""``embajador tick``: every piece of scheduled work that is due at ``now``.

Each task is ``func(app_state, now) -> dict`` and idempotent on its own (keys in Postgres),
so running tick twice at the same instant does nothing more. On Postgres an advisory
lock keeps two overlapping ticks (a slow one and the next minute's) from racing.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import text

from .jobs import resolve
from .logs import get_logger

log = get_logger("tick")
TICK_LOCK_ID = 0x656D6261  # "emba"

# Order matters: inbox first (late webhooks), then balances, then the emails they trigger.
TICK_TASKS: list[tuple[str, str]] = [
    ("webhook_inbox", "webhooks.sweeper.sweep_inbox"),
    ("inbox_retention", "webhooks.retention.purge_processed_payloads"),
]


def run_tick(app_state, now: datetime) -> dict:
    results = {}
    with _tick_lock(app_state.db) as acquired:
        if not acquired:
            return {"skipped": "another tick is running"}
        for name, func_path in TICK_TASKS:
            results[name] = resolve(func_path)(app_state, now)
    log.info("tick done", extra={"status": "ok"})
    return results


@contextmanager
def _tick_lock(db):
    if not db.is_postgres:
        yield True
        return
    with db.engine.connect() as conn:
        acquired = conn.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": TICK_LOCK_ID}).scalar()
        try:
            yield acquired
        finally:
            if acquired:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": TICK_LOCK_ID})
