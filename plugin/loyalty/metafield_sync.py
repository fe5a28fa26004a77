"""Tick task: copy points and tier onto Shopify customer metafields (Liquid, Flow).

Customers changed since the shop's last successful sync (``settings.metafields_synced_at``)
go out through ``metafieldsSet`` in batches of 25 via the one Admin client, which waits
on Shopify's throttle. A failure leaves the mark where it was, so the next tick retries.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import event, select

from plugin.app_state import state
from plugin.logs import get_logger
from plugin.models import Customer, Shop, utcnow
from plugin.shopify.errors import ShopifyError, ShopifyThrottled
from plugin.shopify.gids import customer_gid
from plugin.shopify.metafields import MetafieldInput, set_customer_metafields
from plugin.shops.tokens import admin_client

log = get_logger("points.metafields")
NAMESPACE = "embajador"
MAX_CUSTOMERS_PER_TICK = 2000


def metafields_for(customer: Customer) -> list[MetafieldInput]:
    owner = customer_gid(customer.shopify_id)
    return [MetafieldInput(owner, NAMESPACE, "points", "number_integer", str(customer.points_available)),
            MetafieldInput(owner, NAMESPACE, "points_pending", "number_integer", str(customer.points_pending)),
            MetafieldInput(owner, NAMESPACE, "tier", "single_line_text_field", customer.tier_name or "")]


def sync_shop(app_state, shop_id: int, now: datetime) -> int:
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        mark = (shop.settings or {}).get("metafields_synced_at")
        query = select(Customer).where(Customer.shop_id == shop_id, Customer.shopify_id.is_not(None),
                                       Customer.redacted_at.is_(None))
        if mark:
            query = query.where(Customer.updated_at > datetime.fromisoformat(mark))
        customers = session.execute(query.order_by(Customer.updated_at).limit(MAX_CUSTOMERS_PER_TICK)).scalars().all()
    if not customers:
        return 0
    items = [m for c in customers for m in metafields_for(c) if m.value != ""]
    # One retry only: the next tick is the real retry, and a tick must not stall on one shop.
    set_customer_metafields(admin_client(app_state, shop, max_retries=1), items)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        shop.settings = dict(shop.settings or {}, metafields_synced_at=customers[-1].updated_at.isoformat())
    return len(customers)


def sync_metafields(app_state, now: datetime) -> dict:
    """Tick task (idempotent: a synced customer is not sent again until it changes)."""
    synced, failed = 0, []
    with app_state.db.transaction() as session:
        shop_ids = session.execute(select(Shop.id).where(Shop.installed.is_(True),
                                                         Shop.access_token_enc.is_not(None))).scalars().all()
    for shop_id in shop_ids:
        try:
            synced += sync_shop(app_state, shop_id, now)
        except Exception as exc:  # one shop's outage must not stop the others; retried next tick
            log.warning("metafields sync failed: %s", type(exc).__name__, extra={"shop_id": shop_id})
            failed.append(shop_id)
    return {"customers": synced, "failed_shops": len(failed)}


# -- soon after a ledger change, coalesced per customer ------------------------------------
# ``post_entry`` notes the customer on its session; once that session COMMITS, one sync per
# customer is scheduled SYNC_DELAY later under the job id ``metafields-<customer id>``,
# unless that customer already has one pending (``JobQueue.enqueue_once``): a burst of
# changes (an order, its tier bonus, a redemption) becomes one metafieldsSet call, and the
# award path pays one Redis round trip. The job writes the customer's state as it is when
# it runs. A change that commits while its customer's job is already running is written by
# the tick's batched sync below (customers changed since the shop's last sync). Changes made
# by ``tick`` (source "schedule") are not noted: its own batched sync runs after them.
SYNC_JOB = "plugin.loyalty.metafield_sync.sync_customer_metafields_job"
SYNC_DELAY = timedelta(seconds=2)
_PENDING = "embajador.metafields_pending"


def sync_job_id(customer_id: int) -> str:
    return f"metafields-{customer_id}"


def note_ledger_change(session, customer_id: int, entry_id: int, source: str) -> None:
    """Remember that ``customer_id`` changed in this unit of work (called by ``post_entry``)."""
    if source != "schedule":
        session.info.setdefault(_PENDING, set()).add(customer_id)


def enqueue_syncs_after_commit(app_state) -> None:
    """Install the commit hook on the app's sessions (called once by ``create_app``)."""

    def after_commit(session):
        if session.in_nested_transaction():  # a SAVEPOINT released: the real commit comes later
            return
        for customer_id in sorted(session.info.pop(_PENDING, ())):
            try:
                app_state.queue.enqueue_once(SYNC_JOB, customer_id, job_id=sync_job_id(customer_id),
                                             delay=SYNC_DELAY)
            except Exception:  # noqa: BLE001 - committed already; the tick's batch catches up
                log.exception("metafields sync enqueue failed", extra={"customer_id": customer_id})

    def after_rollback(session):
        session.info.pop(_PENDING, None)

    event.listen(app_state.db.sessionmaker, "after_commit", after_commit)
    event.listen(app_state.db.sessionmaker, "after_rollback", after_rollback)


def sync_customer_metafields_job(customer_id: int, _version: int | None = None) -> str:
    """RQ entry point (job id ``metafields-<customer id>``; jobs scheduled before this
    version also carry the ledger entry id they were for, which no longer matters)."""
    return sync_customer(state(), customer_id)


def sync_customer(app_state, customer_id: int, now: datetime | None = None) -> str:
    """Write one customer's points and tier to Shopify; never raises (the tick retries).

    Throttling: the Admin client paces on the cost Shopify reports; when Shopify still
    throttles, the shop's per-customer syncs pause until the bucket refills and the
    customers wait for the tick's batched sync (25 metafields per call) instead.
    """
    now = now or utcnow()
    with app_state.db.transaction() as session:
        customer = session.get(Customer, customer_id)
        shop = session.get(Shop, customer.shop_id) if customer else None
        if customer is None or customer.shopify_id is None or customer.redacted_at is not None \
                or not shop.installed or shop.access_token_enc is None:
            return "skipped"
        paused = (shop.settings or {}).get("metafields_paused_until")
        if paused and now < datetime.fromisoformat(paused):
            return "deferred"
        items = [m for m in metafields_for(customer) if m.value != ""]
    try:
        set_customer_metafields(admin_client(app_state, shop, max_retries=0), items)
    except ShopifyThrottled as exc:
        _pause_shop(app_state, shop.id, now, exc.retry_after)
        return "throttled"
    except (ShopifyError, OSError) as exc:
        # Best effort: the tick's batched sync is the retry, and it warns if the shop stays down.
        log.debug("customer metafields sync failed: %s", type(exc).__name__,
                  extra={"shop": shop.domain, "customer_id": customer_id})
        return "failed"
    return "synced"


def _pause_shop(app_state, shop_id: int, now: datetime, retry_after) -> None:
    wait = max(float(retry_after or 0), 1.0)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        until = (now + timedelta(seconds=wait)).isoformat()
        shop.settings = dict(shop.settings or {}, metafields_paused_until=until)
