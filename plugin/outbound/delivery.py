"""Delivering one event to one endpoint: signed, retried with backoff from Postgres.

A job carries a delivery id. One compare-and-set statement claims the attempt — still
pending, due, endpoint enabled, shop installed — counts it and moves ``next_attempt_at`` a
2-minute lease ahead *before* sending, so a worker killed mid-request is retried by the
sweeper later and a duplicate job finds nothing due. A second statement records the answer
(a failure under the row locks: backoff, give-up, disabling). An endpoint failing
continuously for 3 days is disabled, its pending deliveries cancelled, and the merchant
emailed (once per disabling).
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from emails.delivery.outbox import queue_email
from emails.delivery.settings import EmailSettings
from plugin.app_state import state
from plugin.db import lock_row
from plugin.logs import get_logger
from plugin.models import OutboundDelivery, OutboundEndpoint, OutboundEvent, Shop, utcnow
from plugin.models.outbound import DELIVERY_CANCELLED, DELIVERY_DELIVERED, DELIVERY_FAILED, DELIVERY_PENDING
from plugin.outbound.outbox import DELIVER_JOB, delivery_job_id
from plugin.outbound.rules.destinations import RefusedDestination, parse_destination
from plugin.outbound.rules.events import envelope
from plugin.outbound.rules.schedule import gives_up, is_success, next_attempt_at, should_disable
from plugin.outbound.rules.signing import HEADER, signature_header
from plugin.outbound.transport import TransportError, post, resolve

log = get_logger("outbound")
SWEEP_LIMIT = 1000
KEEP_FINISHED = timedelta(days=30)
SUCCESS_STAMP_EVERY = timedelta(minutes=1)
# Longer than a request can take (3 s connect + 10 s read): a claimed attempt whose process
# died is retried after this; a failed attempt then waits its backoff instead.
CLAIM_LEASE = timedelta(minutes=2)


def allows_loopback(config) -> bool:
    """http://127.0.0.1 receivers: demo and test mode only."""
    return not config.is_production


def deliver_job(delivery_id: int, now_iso: str | None = None) -> str:
    """RQ entry point (job id ``outbound-<delivery id>-<attempts so far>``)."""
    return deliver(state(), delivery_id, datetime.fromisoformat(now_iso) if now_iso else None)


def deliver(app_state, delivery_id: int, now: datetime | None = None) -> str:
    """One attempt; returns what happened (``delivered``, ``retry``, ``failed``, ``skipped``…).

    The attempt is claimed with one ``UPDATE … FROM … RETURNING`` in autocommit (a pending,
    due delivery of an enabled endpoint of an installed shop; compare-and-set, no lock held
    while sending): it counts the attempt and moves ``next_attempt_at`` a lease ahead, so a
    process that dies mid-request is retried after the lease and a duplicate job finds nothing
    due. The answer is recorded by one more statement (bench/outbound.py)."""
    now = now or utcnow()
    details = (OutboundEndpoint.id, OutboundEndpoint.url, OutboundEndpoint.secret_enc, OutboundEndpoint.failing_since,
               OutboundEndpoint.last_success_at, OutboundEvent.id, OutboundEvent.topic, OutboundEvent.payload,
               OutboundEvent.created_at, Shop.domain)
    in_one = app_state.db.is_postgres  # SQLite's RETURNING sees only the updated table
    with app_state.db.autocommit_engine.connect() as conn:
        claimed = conn.execute(
            update(OutboundDelivery)
            .where(OutboundDelivery.id == delivery_id, OutboundDelivery.status == DELIVERY_PENDING,
                   OutboundDelivery.next_attempt_at <= now,
                   OutboundEndpoint.id == OutboundDelivery.endpoint_id, OutboundEndpoint.enabled.is_(True),
                   OutboundEvent.id == OutboundDelivery.event_id,
                   Shop.id == OutboundDelivery.shop_id, Shop.installed.is_(True))
            .values(attempts=OutboundDelivery.attempts + 1, last_attempt_at=now, next_attempt_at=now + CLAIM_LEASE)
            .returning(OutboundDelivery.attempts, *(details if in_one else ()))).first()
        if claimed is None:
            return _not_claimed(app_state, delivery_id, now)
        if not in_one:
            claimed = (claimed[0], *conn.execute(
                select(*details).select_from(OutboundDelivery)
                .join(OutboundEndpoint, OutboundEndpoint.id == OutboundDelivery.endpoint_id)
                .join(OutboundEvent, OutboundEvent.id == OutboundDelivery.event_id)
                .join(Shop, Shop.id == OutboundDelivery.shop_id).where(OutboundDelivery.id == delivery_id)).one())
    (attempts, endpoint_id, url, secret_enc, failing_since, last_success_at,
     event_id, topic, payload, event_created_at, domain) = claimed
    secret = app_state.cipher.decrypt(secret_enc)
    body = json.dumps(envelope(event_id, topic, domain, event_created_at, payload),
                      separators=(",", ":"), ensure_ascii=False).encode()
    status, error = _send(app_state.config, url, secret, body, event_id, topic)
    if is_success(status):
        stamp = failing_since is not None or last_success_at is None or last_success_at < now - SUCCESS_STAMP_EVERY
        return _record_success(app_state, delivery_id, endpoint_id if stamp else None, attempts, status, now)
    return _record(app_state, delivery_id, attempts, status, error, now)


def _not_claimed(app_state, delivery_id: int, now: datetime) -> str:
    """Why the claim matched nothing: gone or finished, not due yet, or its endpoint is off /
    its shop uninstalled (then the delivery is cancelled)."""
    with app_state.db.transaction() as session:
        row = lock_row(session, OutboundDelivery, delivery_id)
        if row is None or row.status != DELIVERY_PENDING:
            return "skipped"
        if row.next_attempt_at > now:
            return "not_due"
        installed = session.get(Shop, row.shop_id).installed
        row.status, row.last_error = DELIVERY_CANCELLED, "endpoint disabled" if installed else "app uninstalled"
        return "cancelled"


def _record_success(app_state, delivery_id: int, endpoint_id: int | None, attempts: int, status: int,
                    now: datetime) -> str:
    """The common case: one UPDATE of the delivery (only if still this attempt's) and, when
    the endpoint was failing or its last success is over a minute old, one of the endpoint."""
    with app_state.db.autocommit_engine.connect() as conn:
        done = conn.execute(update(OutboundDelivery).where(
            OutboundDelivery.id == delivery_id, OutboundDelivery.status == DELIVERY_PENDING,
            OutboundDelivery.attempts == attempts,
        ).values(status=DELIVERY_DELIVERED, delivered_at=now, last_status_code=status, last_error=None))
        if done.rowcount == 0:
            return "superseded"
        if endpoint_id is not None:
            conn.execute(update(OutboundEndpoint).where(
                OutboundEndpoint.id == endpoint_id,
                (OutboundEndpoint.failing_since.is_not(None)) | (OutboundEndpoint.last_success_at.is_(None))
                | (OutboundEndpoint.last_success_at < now - SUCCESS_STAMP_EVERY),
            ).values(failing_since=None, last_success_at=now))
    return "delivered"


def _send(config, url: str, secret: str, body: bytes, event_id: int, topic: str) -> tuple[int | None, str | None]:
    allow_loopback = allows_loopback(config)
    try:
        destination = parse_destination(url, allow_loopback)
        addresses = resolve(destination, allow_loopback)  # checked now, not only at registration
        headers = {"Content-Type": "application/json", "User-Agent": "Embajador-Webhooks/1",
                   HEADER: signature_header(secret, int(time.time()), body),
                   "Embajador-Event-Id": f"evt_{event_id}", "Embajador-Topic": topic}
        answer = post(destination, addresses[0], headers, body)
    except (RefusedDestination, TransportError) as exc:
        return None, str(exc)[:500]
    if is_success(answer.status):
        return answer.status, None
    excerpt = " ".join(answer.excerpt.split())[:200]
    return answer.status, f"HTTP {answer.status}" + (f": {excerpt}" if excerpt else "")


def _record(app_state, delivery_id: int, attempts: int, status: int | None, error: str | None, now: datetime) -> str:
    with app_state.db.transaction() as session:
        row = lock_row(session, OutboundDelivery, delivery_id)
        if row is None or row.status != DELIVERY_PENDING or row.attempts != attempts:
            return "superseded"
        row.last_status_code, row.last_error = status, error
        endpoint = lock_row(session, OutboundEndpoint, row.endpoint_id)
        if is_success(status):
            row.status, row.delivered_at = DELIVERY_DELIVERED, now
            endpoint.failing_since, endpoint.last_success_at = None, now
            return "delivered"
        endpoint.failing_since = endpoint.failing_since or now
        row.next_attempt_at = next_attempt_at(attempts, now)  # the backoff replaces the claim's lease
        outcome = "retry"
        if gives_up(row.created_at, now):
            row.status, outcome = DELIVERY_FAILED, "failed"
        if endpoint.enabled and should_disable(endpoint.failing_since, now):
            disable_endpoint(session, endpoint, now, error)
            outcome = "disabled"
        log.info("outbound delivery failed", extra={"delivery_id": delivery_id, "status": outcome})
        return outcome


def disable_endpoint(session, endpoint: OutboundEndpoint, now: datetime, last_error: str | None) -> None:
    """Switch the endpoint off, cancel what it still had to receive, email the merchant."""
    failing_since = endpoint.failing_since or now
    endpoint.enabled, endpoint.disabled_at = False, now
    endpoint.disabled_reason = f"failing since {failing_since.isoformat(timespec='minutes')}"[:200]
    session.execute(update(OutboundDelivery).where(
        OutboundDelivery.endpoint_id == endpoint.id, OutboundDelivery.status == DELIVERY_PENDING,
    ).values(status=DELIVERY_CANCELLED, last_error="endpoint disabled"))
    shop = session.get(Shop, endpoint.shop_id)
    config = state().config
    settings = EmailSettings.for_shop(shop, config.sendgrid_from_email)
    if not settings.merchant_email:
        return
    queue_email(session, shop=shop, flow="webhook_endpoint_disabled", to_email=settings.merchant_email,
                message_key=f"webhook_endpoint_disabled:{endpoint.id}:{now.isoformat()}", locale=shop.primary_locale,
                context={"endpoint_url": endpoint.url, "failing_since": failing_since.date(),
                         "last_error": last_error or "", "webhooks_url": f"{config.app_url.rstrip('/')}/webhooks"},
                now=now)


def sweep_deliveries(app_state, now: datetime) -> dict:
    """Tick task: enqueue every pending delivery that is due (a lost Redis loses nothing),
    disable endpoints failing for 3 days whose deliveries all gave up, drop old finished rows."""
    with app_state.db.transaction() as session:
        due = session.execute(select(OutboundDelivery.id, OutboundDelivery.attempts).where(
            OutboundDelivery.status == DELIVERY_PENDING, OutboundDelivery.next_attempt_at <= now,
        ).order_by(OutboundDelivery.next_attempt_at).limit(SWEEP_LIMIT)).all()
        failing = session.execute(select(OutboundEndpoint).where(
            OutboundEndpoint.enabled.is_(True), OutboundEndpoint.failing_since.is_not(None))).scalars().all()
        disabled = 0
        for endpoint in failing:
            if should_disable(endpoint.failing_since, now):
                disable_endpoint(session, lock_row(session, OutboundEndpoint, endpoint.id), now, None)
                disabled += 1
        purged = _purge_finished(session, now)
    for delivery_id, attempts in due:
        app_state.queue.enqueue(DELIVER_JOB, delivery_id, now.isoformat(),
                                job_id=delivery_job_id(delivery_id, attempts), unless_waiting=True)
    return {"enqueued": len(due), "disabled": disabled, "purged": purged}


def _purge_finished(session, now: datetime) -> int:
    cutoff = now - KEEP_FINISHED
    result = session.execute(delete(OutboundDelivery).where(
        OutboundDelivery.status != DELIVERY_PENDING, OutboundDelivery.created_at < cutoff))
    orphans = select(OutboundDelivery.id).where(OutboundDelivery.event_id == OutboundEvent.id).exists()
    session.execute(delete(OutboundEvent).where(OutboundEvent.created_at < cutoff, ~orphans)
                    .execution_options(synchronize_session=False))
    return result.rowcount or 0
