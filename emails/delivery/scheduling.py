"""Sending what is due (``send_due_messages``, a tick task): rows of mass flows with a
``batch_key`` go through emails/delivery/batch_send.py, up to 1,000 recipients per
SendGrid request; every other row gets its own job (emails/delivery/send_job.py).
Without SENDGRID_API_KEY every row takes the single path and stays in the outbox."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emails.delivery.batch_send import BATCH_SIZE
from emails.delivery.outbox import due_filter
from emails.delivery.send_job import park_stale_sending
from plugin.app_state import AppState
from plugin.models import OutboxMessage

SEND_JOB = "emails.delivery.send_job.send_outbox_message_job"
BATCH_JOB = "emails.delivery.batch_send.send_outbox_batch_job"
MAX_BATCH_JOBS_PER_TICK = 100   # x 1,000 recipients
DUE_BATCH = 500


def due_message_ids(session: Session, now: datetime, limit: int = DUE_BATCH,
                    single_only: bool = False) -> list[tuple[int, str]]:
    """Queued rows whose time has come, most important flow first (the cap keeps the winner).
    ``single_only``: leave out rows the batch sender takes (they have a batch_key)."""
    query = select(OutboxMessage.id, OutboxMessage.message_id).where(*due_filter(now))
    if single_only:
        query = query.where(OutboxMessage.batch_key.is_(None))
    rows = session.execute(query.order_by(OutboxMessage.priority, OutboxMessage.send_after, OutboxMessage.id)
                           .limit(limit))
    return [(row.id, row.message_id) for row in rows]


def due_batches(session: Session, now: datetime) -> list[tuple[int, int, str, str, int]]:
    """(priority, shop_id, flow, batch_key, rows due) for every template variant with due rows."""
    rows = session.execute(
        select(OutboxMessage.priority, OutboxMessage.shop_id, OutboxMessage.flow, OutboxMessage.batch_key,
               func.count(OutboxMessage.id))
        .where(*due_filter(now), OutboxMessage.batch_key.is_not(None))
        .group_by(OutboxMessage.priority, OutboxMessage.shop_id, OutboxMessage.flow, OutboxMessage.batch_key))
    return sorted(tuple(r) for r in rows)


def send_due_messages(app_state: AppState, now: datetime) -> dict:
    """Tick task: enqueue one send job per due single row (job id from our message_id +
    attempt) and one batch job per 1,000 due rows of a template variant, most important
    flow first; then park rows stuck in 'sending' after a crash (see emails/delivery/send_job.py)."""
    batching = bool(app_state.config.sendgrid_api_key)
    with app_state.db.transaction() as session:
        due = due_message_ids(session, now, single_only=batching)
        info = dict((r.id, (r.attempts, r.priority)) for r in session.execute(
            select(OutboxMessage.id, OutboxMessage.attempts, OutboxMessage.priority)
            .where(OutboxMessage.id.in_([i for i, _ in due]))))
        batches = due_batches(session, now) if batching else []
    parked = park_stale_sending(app_state, now)
    work: list[tuple[Any, int, str, tuple[Any, ...], str]] = [(info[row_id][1], 0, SEND_JOB, (row_id, now.isoformat()),
             f"email-{message_id}-{info[row_id][0]}") for row_id, message_id in due]
    budget, stamp, batch_rows = MAX_BATCH_JOBS_PER_TICK, int(now.timestamp()), 0
    for priority, shop_id, flow, key, count in batches:
        for index in range(min(-(-count // BATCH_SIZE), budget)):
            work.append((priority, 1, BATCH_JOB, (shop_id, flow, key, now.isoformat()),
                         f"email-batch-{shop_id}-{key}-{stamp}-{index}"))
            budget -= 1
        batch_rows += count
    enqueued = 0
    for _priority, _kind, func_path, args, job_id in sorted(work, key=lambda w: (w[0], w[1])):
        if app_state.queue.enqueue(func_path, *args, job_id=job_id, unless_waiting=True):
            enqueued += 1
    return {"due": len(due) + batch_rows, "enqueued": enqueued, "parked": parked}
