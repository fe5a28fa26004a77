"""Running a stored delivery through its topic handler, exactly once, in one transaction.

The delivery row is locked (FOR UPDATE) and re-checked, so a duplicate job, a sweeper
re-enqueue or a SIGKILL-and-retry never applies a handler twice. A failing handler rolls
back its whole unit of work; the row records the attempt on a fresh transaction and is
retried with backoff until it becomes a dead letter.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from plugin.app_state import AppState, state
from plugin.config import Config
from plugin.db import lock_row
from plugin.logs import get_logger
from plugin.models import Shop, WebhookDelivery, utcnow
from plugin.models.inbox import DEAD, FAILED, PENDING, PROCESSED, REJECTED, UNHANDLED
from webhooks.compliance import RejectedDelivery
from webhooks.inbox import SWEEP_AFTER, MalformedPayload, parse_payload
from webhooks.topics import KNOWN_TOPICS, handler_module

log = get_logger("webhooks.processing")
MAX_ATTEMPTS = 8
JOB = "webhooks.processing.process_delivery_job"


@dataclass
class HandlerContext:
    """What a topic handler gets: the open session, the shop, the parsed payload."""

    session: Session
    shop: Shop
    delivery: WebhookDelivery
    payload: dict
    now: datetime
    config: Config
    app_state: AppState
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def enqueue_after_commit(self, func_path: str, *args, job_id: str) -> None:
        def enqueue() -> None:
            self.app_state.queue.enqueue(func_path, *args, job_id=job_id)
        self.after_commit.append(enqueue)


def enqueue_delivery(queue, delivery_id: int, attempts: int, unless_waiting: bool = False) -> bool:
    """One id per delivery and attempt. The sweeper passes ``unless_waiting``: a job of that id
    still waiting in the list stands for the re-enqueue, so a backlog longer than SWEEP_AFTER
    does not fill the list with copies of rows that are only waiting their turn."""
    return queue.enqueue(JOB, delivery_id, job_id=delivery_job_id(delivery_id, attempts),
                         unless_waiting=unless_waiting)


def delivery_job_id(delivery_id: int, attempts: int) -> str:
    return f"delivery-{delivery_id}-{attempts}"


def process_delivery_job(delivery_id: int) -> str:
    """RQ entry point; the worker runs every job inside the app's context."""
    return process_delivery(state(), delivery_id)


class _HandlerFailed(Exception):
    """The handler raised: its unit of work is rolled back whole and the attempt recorded on a
    fresh transaction (``_record_failure``)."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


def process_delivery(app_state: AppState, delivery_id: int, now: datetime | None = None) -> str:
    now = now or utcnow()
    after_commit: list[Callable[[], None]] = []
    try:
        with app_state.db.transaction() as session:
            delivery, shop = _lock_with_shop(session, delivery_id)
            if delivery is None or delivery.status != PENDING:
                return delivery.status if delivery else "missing"
            status = _run_handler(session, app_state, delivery, shop, now, after_commit)
    except _HandlerFailed as failed:
        if isinstance(failed.error, DBAPIError) and failed.error.connection_invalidated:
            return _record_lost_attempt(app_state, delivery_id, now, failed.error)
        return _record_failure(app_state, delivery_id, now, failed.error)
    except DBAPIError as exc:
        # The database connection itself failed (terminated backend, failover): the unit of
        # work rolled back, so record the attempt on a fresh connection and let it be retried.
        return _record_lost_attempt(app_state, delivery_id, now, exc)
    for callback in after_commit:
        callback()
    log.info("webhook processed", extra={"shop": delivery.shop_domain, "topic": delivery.topic,
                                         "delivery_id": delivery_id, "status": status})
    return status


def _lock_with_shop(session: Session, delivery_id: int) -> tuple[WebhookDelivery | None, Shop | None]:
    """The delivery row locked (FOR UPDATE OF it alone) and its shop, in one round trip.
    ``populate_existing`` as in ``plugin.db.lock_row``: values read after the lock."""
    row = session.execute(select(WebhookDelivery, Shop).outerjoin(Shop, Shop.id == WebhookDelivery.shop_id)
                          .where(WebhookDelivery.id == delivery_id).with_for_update(of=WebhookDelivery)
                          .execution_options(populate_existing=True)).one_or_none()
    return (row[0], row[1]) if row is not None else (None, None)


def _run_handler(session, app_state, delivery, shop, now, after_commit) -> str:
    module_path = handler_module(delivery.topic)
    handler = _load_handler(module_path) if module_path else None
    if handler is None:
        return _finish(delivery, UNHANDLED, now, error="no handler for this topic yet")
    if shop is None:
        return _finish(delivery, FAILED, now, error="shop no longer exists")
    # No SAVEPOINT around the handler (SAVEPOINT + RELEASE were two of an order's round trips):
    # when it raises, the whole unit of work rolls back, and the attempt is recorded on a
    # fresh transaction that locks the row again (``_record_failure``).
    try:
        payload = parse_payload(delivery.payload or "")
        ctx = HandlerContext(session=session, shop=shop, delivery=delivery, payload=payload, now=now,
                             config=app_state.config, app_state=app_state, after_commit=after_commit)
        outcome = handler(ctx)
    except Exception as exc:
        after_commit.clear()
        raise _HandlerFailed(exc) from exc
    delivery.attempts += 1
    delivery.outcome = outcome if isinstance(outcome, dict) else None
    return _finish(delivery, PROCESSED, now)


def _record_failure(app_state: AppState, delivery_id: int, now: datetime, exc: BaseException) -> str:
    """A handler raised and its work was rolled back: record the attempt and what it means."""
    try:
        with app_state.db.transaction() as session:
            delivery = lock_row(session, WebhookDelivery, delivery_id)
            if delivery is None or delivery.status != PENDING:
                return delivery.status if delivery else "missing"
            delivery.attempts += 1
            if isinstance(exc, MalformedPayload):
                return _finish(delivery, FAILED, now, error=str(exc))
            if isinstance(exc, RejectedDelivery):
                log.warning("webhook rejected", extra={"shop": delivery.shop_domain, "topic": delivery.topic,
                                                       "delivery_id": delivery.id})
                return _finish(delivery, REJECTED, now, error=str(exc))
            # A bug or a transient failure: keep it, retry later.
            log.error("handler failed: %s", describe_error(exc), exc_info=exc, extra={
                "shop": delivery.shop_domain, "topic": delivery.topic, "delivery_id": delivery.id})
            return _schedule_retry(delivery, now, exc)
    except DBAPIError as again:
        return _record_lost_attempt(app_state, delivery_id, now, again)


def _finish(delivery: WebhookDelivery, status: str, now: datetime, error: str | None = None) -> str:
    delivery.status = status
    delivery.processed_at = now
    delivery.next_attempt_at = None
    delivery.last_error = error
    return status


def _schedule_retry(delivery: WebhookDelivery, now: datetime, exc: BaseException) -> str:
    if delivery.attempts >= MAX_ATTEMPTS:
        return _finish(delivery, DEAD, now, error=describe_error(exc))
    delivery.last_error = describe_error(exc)
    delivery.next_attempt_at = now + min(timedelta(minutes=2 ** delivery.attempts), timedelta(hours=4))
    return PENDING


def _record_lost_attempt(app_state: AppState, delivery_id: int, now: datetime, exc: DBAPIError) -> str:
    """The attempt that died with its connection, written on a new one (best effort: if the
    database is still away the row stays pending and the sweeper brings it back)."""
    error = describe_error(exc)
    try:
        with app_state.db.transaction() as session:
            delivery = lock_row(session, WebhookDelivery, delivery_id)
            if delivery is None or delivery.status != PENDING:
                return delivery.status if delivery else "missing"
            delivery.attempts += 1
            status = _schedule_retry(delivery, now, exc)
            shop, topic = delivery.shop_domain, delivery.topic
    except DBAPIError as again:
        log.error("delivery failed and could not be recorded: %s (then %s)", error, describe_error(again),
                  extra={"delivery_id": delivery_id})
        return PENDING
    log.error("delivery failed: %s", error, extra={"shop": shop, "topic": topic, "delivery_id": delivery_id,
                                                   "status": status})
    return status


def describe_error(exc: BaseException) -> str:
    """Exception class and the first line of its message, cut short: enough to act on.

    For a database error this is the driver's exception (e.g. ``OperationalError:
    terminating connection due to administrator command``), never SQLAlchemy's text with
    the statement, nor the driver's DETAIL line, which can quote a customer's values.
    """
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}".rstrip(": ")[:300]


def import_handlers(_app_state=None) -> None:
    """Import every topic's handler now (the worker does it before forking), not per job."""
    for topic in sorted(KNOWN_TOPICS):
        module_path = handler_module(topic)
        if module_path:
            _load_handler(module_path)


def _load_handler(module_path: str):
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        if exc.name == module_path:
            return None
        raise
    return getattr(module, "handle", None)


__all__ = ["HandlerContext", "process_delivery", "process_delivery_job", "enqueue_delivery", "describe_error",
           "MAX_ATTEMPTS", "SWEEP_AFTER"]
