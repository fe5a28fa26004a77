"""POST /webhooks — verify the HMAC, store the delivery, answer 200 fast, enqueue after commit."""
from __future__ import annotations

import json
import os
import re
import threading

import psycopg
from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import event

from plugin.app_state import state
from plugin.customers.profiles import parse_shopify_time
from plugin.logs import get_logger
from plugin.models import utcnow
from plugin.models.inbox import PENDING
from plugin.shopify.shop_domain import normalize_shop_domain
from plugin.shopify.signatures import verify_webhook
from webhooks.group_commit import GroupCommitter
from webhooks.inbox import Delivery, StoreResult, group_row, store_delivery
from webhooks.processing import JOB, delivery_job_id, enqueue_delivery

bp = Blueprint("webhooks", __name__)
# Resource parts reach 33 characters (customers_email_marketing_consent); the whole fits the 64-character column.
TOPIC_SHAPE = re.compile(r"[a-z_]{1,40}/[a-z_]{1,23}")
log = get_logger("webhooks")


@bp.post("/webhooks")
def receive_webhook():
    app_state = state()
    raw = request.get_data(cache=False)
    if not verify_webhook(raw, request.headers.get("X-Shopify-Hmac-Sha256"), app_state.config.api_secret):
        log.warning("webhook rejected: bad signature")
        return jsonify(error="invalid HMAC signature"), 401
    topic = (request.headers.get("X-Shopify-Topic") or "").strip()
    shop_domain = normalize_shop_domain(request.headers.get("X-Shopify-Shop-Domain") or "")
    if not TOPIC_SHAPE.fullmatch(topic) or not shop_domain:
        return jsonify(error="X-Shopify-Topic (like orders/paid) and a valid X-Shopify-Shop-Domain are required"), 400

    delivery = Delivery(
        shop_domain=shop_domain, topic=topic, raw_body=raw,
        event_id=_header("X-Shopify-Event-Id"), webhook_id=_header("X-Shopify-Webhook-Id"),
        api_version=_header("X-Shopify-API-Version"), triggered_at=parse_shopify_time(_header("X-Shopify-Triggered-At")),
    )
    result = _store(app_state, delivery)  # committed and its job enqueued
    log.info("webhook stored", extra={"shop": shop_domain, "topic": topic,
                                      "delivery_id": result.delivery_id, "status": result.status})
    # The same JSON jsonify() writes, without the app's JSON provider (pretty-printing
    # checks, mimetype lookups): this answer is the same two small fields every time.
    return current_app.response_class(json.dumps({"status": result.status, "delivery_id": result.delivery_id}),
                                      status=200, mimetype="application/json")


def _store(app_state, delivery: Delivery) -> StoreResult:
    """Committed before the 200. On PostgreSQL the row joins this process's group commit
    (webhooks/group_commit.py): one multi-row prepared INSERT in autocommit on a connection of
    its own for the deliveries that arrive together, then one Redis pipeline of their jobs.
    SQLite (the demo) and bodies that are not JSON (stored FAILED) take the general path."""
    if not app_state.db.is_postgres:
        with app_state.db.autocommit_engine.connect() as conn:
            result = store_delivery(conn, delivery, utcnow())
        _enqueue_one(app_state, result)
        return result
    row = group_row(delivery, utcnow())
    if row is None:
        with app_state.db.engine.begin() as conn:
            result = store_delivery(conn, delivery, utcnow())
        _enqueue_one(app_state, result)
        return result
    committer = _committer(current_app, app_state)
    result = committer.store(row)
    if not committer.enqueues:
        _enqueue_one(app_state, result)
    return result


def _enqueue_one(app_state, result: StoreResult) -> None:
    if result.created and result.status == PENDING:
        enqueue_delivery(app_state.queue, result.delivery_id, attempts=0)


_COMMITTER = "embajador.ingress.group_commit"
_COMMITTER_LOCK = threading.Lock()


def _committer(app, app_state) -> GroupCommitter:
    """The process's committer, made on first use in each process (gunicorn forks after
    preloading the app: a connection must never be shared across the fork)."""
    committer = app.extensions.get(_COMMITTER)
    if committer is not None and committer.pid == os.getpid():
        return committer
    with _COMMITTER_LOCK:
        committer = app.extensions.get(_COMMITTER)
        if committer is None or committer.pid != os.getpid():
            committer = app.extensions[_COMMITTER] = _new_committer(app_state)
    return committer


def _new_committer(app_state) -> GroupCommitter:
    db, queue = app_state.db, app_state.queue
    enqueue_many = getattr(queue, "enqueue_many", None)  # RQ; in-process jobs run in their own request

    def connect() -> psycopg.Connection:
        """A connection of the committer's own, opened as the pool opens them (same URL,
        events), then detached: no checkout/checkin per delivery, and not counted in the pool.
        https://docs.sqlalchemy.org/en/20/core/pooling.html#sqlalchemy.pool.PoolProxiedConnection.detach

        Pinged first (this runs once per process and after a failure): a failover or
        ``pg_terminate_backend`` drops every connection at once, and the pool pings only the
        idle ones, so the replacement for a broken connection could be as dead as it (the full
        chaos replay's one 5xx). A dead one recycles every connection as old as it at its next
        checkout, as SQLAlchemy does on any disconnect (``Connection._handle_dbapi_exception``
        calls ``pool._invalidate``, sqlalchemy/engine/base.py), and the next one is fresh."""
        for attempt in (1, 2):
            pooled = db.engine.raw_connection()
            connection = pooled.driver_connection
            try:
                connection.autocommit = True
                connection.execute("SELECT 1")
            except psycopg.OperationalError:
                db.engine.pool._invalidate(pooled)
                pooled.close()
                if attempt == 2:
                    raise
                continue
            pooled.detach()
            return connection
        raise AssertionError("unreachable")

    def enqueue_new(results: list[StoreResult]) -> None:
        jobs = [((r.delivery_id,), delivery_job_id(r.delivery_id, 0)) for r in results if r.status == PENDING]
        if jobs:
            enqueue_many(JOB, jobs)

    committer = GroupCommitter(connect, enqueue_new if enqueue_many is not None else None)
    event.listen(db.engine, "engine_disposed", lambda _engine: committer.close())
    return committer


def _header(name: str) -> str | None:
    """An optional header as stored. Postgres text cannot hold NUL (psycopg refuses it before
    sending: psycopg/types/string.py), and the HMAC covers only the body, so a NUL here is
    anyone's to send: dropped, not a 500."""
    value = (request.headers.get(name) or "").replace("\x00", "").strip()
    return value[:128] or None

