"""POST /webhooks — verify the HMAC, store the delivery, answer 200 fast, enqueue after commit."""
from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from http import HTTPStatus

import psycopg
from flask import Blueprint, current_app, request
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
    """The route as Flask serves it: the demo (SQLite, in-process jobs, whose handlers need the
    app context) and the requests the fast path below hands over (no Content-Length, too big)."""
    status, answer = accept(current_app, state(), request.headers.get, request.get_data(cache=False))
    return current_app.response_class(json.dumps(answer), status=status, mimetype="application/json")


def accept(app, app_state, header: Callable[[str], str | None], raw: bytes) -> tuple[int, dict]:
    """Verify, store (committed, its job enqueued), and say what to answer: (HTTP status, JSON)."""
    if not verify_webhook(raw, header("X-Shopify-Hmac-Sha256"), app_state.config.api_secret):
        log.warning("webhook rejected: bad signature")
        return 401, {"error": "invalid HMAC signature"}
    topic = (header("X-Shopify-Topic") or "").strip()
    shop_domain = normalize_shop_domain(header("X-Shopify-Shop-Domain") or "")
    if not TOPIC_SHAPE.fullmatch(topic) or not shop_domain:
        return 400, {"error": "X-Shopify-Topic (like orders/paid) and a valid X-Shopify-Shop-Domain are required"}

    delivery = Delivery(
        shop_domain=shop_domain, topic=topic, raw_body=raw,
        event_id=_optional(header("X-Shopify-Event-Id")), webhook_id=_optional(header("X-Shopify-Webhook-Id")),
        api_version=_optional(header("X-Shopify-API-Version")),
        triggered_at=parse_shopify_time(_optional(header("X-Shopify-Triggered-At"))),
    )
    result = _store(app, app_state, delivery)  # committed and its job enqueued
    if result.status != PENDING:
        # One line per delivery: a pending one gets it from the worker that runs it ("webhook
        # processed": shop, topic, delivery id, outcome); here only those no worker will run
        # (duplicate, ignored, failed). The access log has every request, the inbox every row.
        log.info("webhook stored", extra={"shop": shop_domain, "topic": topic,
                                          "delivery_id": result.delivery_id, "status": result.status})
    return 200, {"status": result.status, "delivery_id": result.delivery_id}


class WebhookFastPath:
    """WSGI middleware answering ``POST /webhooks`` below Flask, on PostgreSQL with RQ (production).

    Shopify's deliveries are the app's hottest route and need nothing Flask adds per request
    (request and app contexts, URL matching, sessions, after-request hooks, response
    finalising: about a quarter of a delivery's CPU, bench/RESULTS.md). Every answer comes
    from the same ``accept`` the Flask route calls; a request this path does not take whole
    (another path or method, no or an oversized Content-Length, a transfer encoding) goes to
    Flask untouched, so those keep Flask's answers (413, 405, ...).
    https://peps.python.org/pep-3333/#specification-details"""

    def __init__(self, wsgi_app, app):
        self.wsgi_app = wsgi_app
        self.app = app
        self.app_state = app.extensions["embajador"]
        self.max_length: int = app.config["MAX_CONTENT_LENGTH"]

    def __call__(self, environ, start_response):
        length = environ.get("CONTENT_LENGTH") or ""
        if (environ.get("PATH_INFO") != "/webhooks" or environ.get("REQUEST_METHOD") != "POST"
                or not (length.isascii() and length.isdigit()) or int(length) > self.max_length
                or "HTTP_TRANSFER_ENCODING" in environ):
            return self.wsgi_app(environ, start_response)
        raw = environ["wsgi.input"].read(int(length))
        try:
            if len(raw) != int(length):  # the sender went away mid-body (werkzeug: 400 too)
                status, answer = 400, {"error": "the body is shorter than its Content-Length"}
            else:
                status, answer = accept(self.app, self.app_state, _environ_header(environ), raw)
        except Exception:  # noqa: BLE001 - what Flask would do: log it, answer 500 (Shopify retries)
            log.exception("webhook not stored: internal error")
            status, answer = 500, {"error": "internal error; the delivery was not stored"}
        body = json.dumps(answer).encode()
        start_response(_STATUS_LINES[status], [("Content-Type", "application/json"),
                                               ("Content-Length", str(len(body)))])
        return [body]


_STATUS_LINES = {code: f"{code} {HTTPStatus(code).phrase}" for code in (200, 400, 401, 500)}


def _environ_header(environ) -> Callable[[str], str | None]:
    """``request.headers.get`` on a bare WSGI environ (HTTP_ + upper case, - as _)."""
    return lambda name: environ.get("HTTP_" + name.upper().replace("-", "_"))


def install_fast_path(app) -> None:
    """Put ``WebhookFastPath`` in front of the app when it runs as in production."""
    app_state = app.extensions["embajador"]
    if app_state.db.is_postgres and getattr(app_state.queue, "enqueue_many", None) is not None:
        app.wsgi_app = WebhookFastPath(app.wsgi_app, app)


def _store(app, app_state, delivery: Delivery) -> StoreResult:
    """Committed before the 200. On PostgreSQL the row joins this process's group commit
    (webhooks/group_commit.py): one multi-row prepared INSERT in autocommit on a connection of
    its own for the deliveries that arrive together, then one Redis round trip for their jobs.
    SQLite (the demo) and bodies that are not JSON (stored FAILED) take the general path: two
    statements, in a transaction on PostgreSQL (SQLite serialises its writers anyway)."""
    db = app_state.db
    row = group_row(delivery, utcnow()) if db.is_postgres else None
    if row is None:
        with (db.engine.begin() if db.is_postgres else db.autocommit_engine.connect()) as conn:
            result = store_delivery(conn, delivery, utcnow())
        _enqueue_one(app_state, result)
        return result
    committer = _committer(app, app_state)
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

    committer = GroupCommitter(connect, enqueue_new if enqueue_many is not None else None,
                               threads=app_state.config.web_threads)
    event.listen(db.engine, "engine_disposed", lambda _engine: committer.close())
    return committer


def _optional(value: str | None) -> str | None:
    """An optional header as stored. Postgres text cannot hold NUL (psycopg refuses it before
    sending: psycopg/types/string.py), and the HMAC covers only the body, so a NUL here is
    anyone's to send: dropped, not a 500."""
    value = (value or "").replace("\x00", "").strip()
    return value[:128] or None
