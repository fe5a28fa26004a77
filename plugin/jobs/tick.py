"""``embajador tick``: every piece of scheduled work that is due at ``now``.

Each task is ``func(app_state, now) -> dict`` and idempotent on its own (keys in Postgres),
so running tick twice at the same instant does nothing more. On Postgres an advisory
lock keeps two overlapping ticks (a slow one and the next minute's) from racing.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import text

from plugin.jobs.queue import resolve
from plugin.logs import get_logger

log = get_logger("tick")
TICK_LOCK = "embajador-tick"

# Order matters: inbox first (late webhooks), then balances, then the emails they trigger.
TICK_TASKS: list[tuple[str, str]] = [
    ("webhook_inbox", "webhooks.sweeper.sweep_inbox"),
    ("orders_reconcile", "plugin.loyalty.order_reconcile.reconcile_paid_orders"),  # daily: paid orders we missed
    ("checkout_order_intake", "plugin.recovery.purchases.collect_checkout_orders"),  # before the purge
    ("inbox_retention", "webhooks.retention.purge_processed_payloads"),
    ("customer_consent", "plugin.shops.customer_sync.check_unseen_customers"),  # before any marketing email
    ("consent_write_back", "plugin.shops.customer_sync.push_pending_consents"),
    ("points_release", "plugin.loyalty.release.release_pending_points"),
    ("points_expiry", "plugin.loyalty.expiry_task.expire_points"),
    ("birthdays", "plugin.loyalty.actions.birthdays_job"),
    ("tiers", "plugin.loyalty.tier_sync.reevaluate_tiers_job"),
    ("reward_code_expiry", "plugin.loyalty.redemption.refund_expired_codes"),
    ("interrupted_redemptions", "plugin.loyalty.redemption.recover_interrupted_redemptions"),
    ("api_idempotency_retention", "plugin.open_api.idempotency.purge_old_records"),
    ("customer_metafields", "plugin.loyalty.metafield_sync.sync_metafields"),
    ("checkout_reconcile", "plugin.recovery.reconcile.reconcile_abandoned_checkouts"),
    ("checkout_orders", "plugin.recovery.completion.track_checkout_orders"),
    ("checkout_steps", "plugin.recovery.steps.send_due_recovery_steps"),
    ("win_back", "plugin.feedback.win_back.send_win_backs"),
    ("sendgrid_event_batches", "emails.delivery.event_batches.sweep_event_batches"),
    ("email_dispatch", "plugin.lifecycle.dispatch.dispatch_events"),
    ("email_send", "emails.delivery.scheduling.send_due_messages"),
    ("analytics_compaction", "plugin.rollups.store.compact_rollups"),
    ("outbound_webhooks", "plugin.outbound.delivery.sweep_deliveries"),  # merchant's endpoints: due retries
    ("billing", "plugin.billing.subscriptions.sync_billing"),  # daily: subscriptions changed in Shopify
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
        # Keyed by schema too, so separate installs sharing one database never block each other.
        key = conn.execute(text("SELECT hashtext(:name || current_schema())"), {"name": TICK_LOCK}).scalar()
        acquired = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        try:
            yield acquired
        finally:
            if acquired:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
