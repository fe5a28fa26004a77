"""SendGrid Event Webhook batches: stored as received (committed before the 200), then
recorded by a job, so a 20,000-event batch costs the request one INSERT. The job locks the
batch row and re-checks its status, so a duplicate job or a sweeper re-enqueue is a no-op;
``tick`` re-enqueues batches still pending after ``SWEEP_AFTER`` (Redis lost the job)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from emails.delivery.events import record_events
from emails.sendgrid.event_signature import EventPayloadError, parse_events
from plugin.app_state import AppState, state
from plugin.db import lock_row
from plugin.jobs.queue import InlineQueue, JobQueue
from plugin.logs import get_logger
from plugin.models import SendgridEventBatch, utcnow

log = get_logger("emails.event_batches")
JOB = "emails.delivery.event_batches.process_event_batch_job"
PENDING, PROCESSED, FAILED = "pending", "processed", "failed"
SWEEP_AFTER = timedelta(minutes=2)
SWEEP_BATCH = 100


def store_event_batch(app_state: AppState, raw_body: bytes) -> int:
    """Commit the verified body as a pending batch, then enqueue its job; returns its id."""
    with app_state.db.transaction() as session:
        batch = SendgridEventBatch(raw_body=raw_body.decode("utf-8"), status=PENDING, received_at=utcnow())
        session.add(batch)
        session.flush()
        batch_id = batch.id
    enqueue_event_batch(app_state.queue, batch_id)
    return batch_id


def enqueue_event_batch(queue: JobQueue, batch_id: int, unless_waiting: bool = False) -> bool:
    """One id per batch. The sweeper passes ``unless_waiting``: a job of that id still waiting
    in the list stands for the re-enqueue, so a backlog older than SWEEP_AFTER does not fill
    the list with copies, once per tick (as ``webhooks.processing.enqueue_delivery``)."""
    return queue.enqueue(JOB, batch_id, job_id=f"sendgrid-batch-{batch_id}", unless_waiting=unless_waiting)


def process_event_batch_job(batch_id: int) -> str:
    """RQ entry point (runs inside the worker's app context)."""
    return process_event_batch(state(), batch_id)


def process_event_batch(app_state: AppState, batch_id: int, now: datetime | None = None) -> str:
    """Record the batch's events once; the raw body (addresses) is dropped afterwards."""
    now = now or utcnow()
    with app_state.db.transaction() as session:
        batch = lock_row(session, SendgridEventBatch, batch_id)
        if batch is None or batch.status != PENDING:
            return batch.status if batch else "missing"
        try:
            batch.counts = record_events(session, parse_events(batch.raw_body or ""))
            batch.status = PROCESSED
        except EventPayloadError as exc:
            batch.status, batch.last_error = FAILED, str(exc)[:500]
        batch.raw_body, batch.processed_at = None, now
        status = batch.status
    log.info("sendgrid event batch recorded", extra={"status": status})
    return status


def sweep_event_batches(app_state: AppState, now: datetime) -> dict[str, int]:
    """Tick task: batches still pending after ``SWEEP_AFTER`` go back to a worker."""
    with app_state.db.transaction() as session:
        ids = session.execute(select(SendgridEventBatch.id).where(
            SendgridEventBatch.status == PENDING, SendgridEventBatch.received_at <= now - SWEEP_AFTER)
            .order_by(SendgridEventBatch.id).limit(SWEEP_BATCH)).scalars().all()
    for batch_id in ids:
        if isinstance(app_state.queue, InlineQueue):
            process_event_batch(app_state, batch_id, now)
        else:
            enqueue_event_batch(app_state.queue, batch_id, unless_waiting=True)
    return {"requeued": len(ids)}
