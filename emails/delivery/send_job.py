"""Sending one outbox row at most once.

1. Claim (own transaction): lock the row FOR UPDATE, re-check that it is still queued
   and due, re-check consent / suppression / frequency cap, render loyalty flows again
   with the current balance and tier (outbox.render_at_send), then mark it ``sending``
   with attempts+1 and commit. A duplicate job finds ``sending``/``sent`` and stops.
2. Post to SendGrid outside any transaction (no lock held across the network).
3. Record (own transaction): 202 → ``sent``; 429/5xx/network → back to ``queued`` with
   ``next_attempt_at`` (backoff honouring Retry-After / X-RateLimit-Reset); other 4xx →
   ``failed``, never retried.

The one ambiguity is a crash between 2 and 3: SendGrid may have accepted the mail but
the row says ``sending``. The window is one HTTP call plus a commit; such rows are never
re-sent blindly — after STALE_SENDING the tick parks them as ``unknown``, and a SendGrid
event carrying their message_id (processed/delivered…) later marks them ``sent``.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from emails.content.context import MissingContextError
from emails.content.flows import get_flow
from emails.delivery.outbox import render_at_send
from emails.delivery.settings import EmailSettings, is_test_send
from emails.delivery.suppression import suppression_reason
from emails.sendgrid.client import SendGridSender, SendResult, backoff
from emails.sendgrid.mail_request import MailRequestError, OutgoingMessage, build_single
from plugin.app_state import state
from plugin.db import lock_row
from plugin.logs import get_logger
from plugin.models import Customer, OutboxMessage, Shop, utcnow
from plugin.models.email import FAILED, OUTBOX, QUEUED, SENDING, SENT, SUPPRESSED, UNKNOWN

log = get_logger("emails.send")
MAX_ATTEMPTS = 8
STALE_SENDING = timedelta(minutes=15)


def send_outbox_message_job(outbox_id: int, now_iso: str | None = None) -> str:
    """RQ entry point (job id ``email-<message_id>-<attempt>``)."""
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    return send_outbox_message(state(), outbox_id, now)


def send_outbox_message(app_state, outbox_id: int, now: datetime) -> str:
    """Claim, post, record. Returns the row's resulting status (or 'skipped')."""
    config = app_state.config
    claimed = _claim(app_state, outbox_id, now)
    if isinstance(claimed, str):
        return claimed
    result = _post(config, claimed, now)
    return _record(app_state, outbox_id, result, now)


def _claim(app_state, outbox_id: int, now: datetime):
    config = app_state.config
    with app_state.db.transaction() as session:
        row = lock_row(session, OutboxMessage, outbox_id)
        if row is None or row.status != QUEUED or row.send_after > now or \
                (row.next_attempt_at is not None and row.next_attempt_at > now):
            return "skipped"
        shop = session.get(Shop, row.shop_id)
        # Locking the customer serialises two sends to one person, so the cap count is exact.
        customer = lock_row(session, Customer, row.customer_id) if row.customer_id else None
        settings = EmailSettings.for_shop(shop, config.sendgrid_from_email, flow=row.flow)  # its sender
        reason = suppression_reason(session, shop, customer, row.to_email, row.marketing, now, settings,
                                    exclude_id=row.id, flow=None if is_test_send(row.message_key) else row.flow)
        if reason:
            row.status, row.reason = SUPPRESSED, reason
            return SUPPRESSED
        try:
            render_at_send(session, row, shop, customer, now, config)
        except (MissingContextError, ValueError, TypeError) as exc:
            row.status, row.reason, row.last_error = FAILED, "render_error", str(exc)[:1000]
            return FAILED
        if not config.sendgrid_api_key:
            row.status, row.sent_at = OUTBOX, now
            return OUTBOX
        try:
            body = build_single(outgoing_message(row, shop, settings), now)
        except MailRequestError as exc:
            row.status, row.reason, row.last_error = FAILED, "invalid_request", str(exc)[:1000]
            return FAILED
        row.status, row.attempts, row.claimed_at = SENDING, row.attempts + 1, now
        return body


def _post(config, body: dict, now: datetime) -> SendResult:
    return SendGridSender(config.sendgrid_api_key, config.sendgrid_api_host).post(body, now)


def _record(app_state, outbox_id: int, result: SendResult, now: datetime) -> str:
    with app_state.db.transaction() as session:
        row = lock_row(session, OutboxMessage, outbox_id)
        status = apply_result(row, result, now)
        log.info("email send", extra={"status": status, "flow": row.flow})
        return status


def apply_result(row: OutboxMessage, result: SendResult, now: datetime) -> str:
    """What SendGrid's answer means for one row (shared with the batch sender)."""
    if result.outcome == "sent":
        row.status, row.sent_at, row.sg_message_id, row.last_error = SENT, now, result.sg_message_id, None
    elif result.outcome == "retry" and row.attempts < MAX_ATTEMPTS:
        row.status, row.last_error = QUEUED, result.error
        row.next_attempt_at = now + backoff(row.attempts, result.retry_after)
    else:
        row.status, row.last_error = FAILED, result.error
        row.reason = "retries_exhausted" if result.outcome == "retry" else f"http_{result.status}"
    return row.status


def outgoing_message(row: OutboxMessage, shop: Shop, settings: EmailSettings) -> OutgoingMessage:
    """The SendGrid message for an outbox row: per-shop sender, categories, custom_args,
    unsubscribe group and one-click List-Unsubscribe for marketing mail."""
    flow = get_flow(row.flow)
    if not settings.from_email:
        raise MailRequestError("no sender address: set SENDGRID_FROM_EMAIL or the shop's emails.from_email")
    one_click = row.unsubscribe_url if (row.marketing and row.unsubscribe_url
                                        and row.unsubscribe_url.startswith("https://")) else None
    return OutgoingMessage(
        to_email=row.to_email, to_name=row.to_name, from_email=settings.from_email,
        from_name=settings.from_name, reply_to=settings.reply_to, subject=row.subject,
        html=row.html, text=row.text, categories=flow.categories,
        custom_args={"shop": shop.domain, "flow": row.flow, "message_id": row.message_id},
        asm_group_id=settings.asm_group_id if row.marketing else None, list_unsubscribe=one_click)


def park_stale_sending(app_state, now: datetime) -> int:
    """Rows left in 'sending' by a crash: maybe sent, so never re-sent; marked unknown."""
    with app_state.db.transaction() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == SENDING, OutboxMessage.claimed_at < now - STALE_SENDING)
            .values(status=UNKNOWN, reason="crash_during_send",
                    last_error="worker stopped after posting; not re-sent to avoid a duplicate"))
        return result.rowcount or 0


