"""The outbox: every email is a row first, sent later by a job.

``queue_email`` is the one way in (lifecycle flows, feedback, abandoned checkouts). A row
is keyed by (shop, message_id), message_id being a hash of the caller's message_key, so a
replayed event or webhook never queues twice. Rendering happens at queue time (so
`embajador outbox` shows the message) and, for loyalty flows, again at send time: the
flow's own context is stored on the row (emails/stored_context.py) and the loyalty block
(balance, tier, progress) is read afresh when the row is claimed, so a feedback_request
queued a week ahead shows the balance of the day it leaves. The stored subject/HTML/text
is then exactly what the shopper got.

Consent, suppression (bounces, spam reports) and the frequency cap are checked when the
row is queued and again when it is sent; a row that may not go is kept as ``suppressed``
with the reason, so the merchant can see why a message did not leave.

Sending (``send_due_messages``, a tick task): rows of mass flows (emails/batch.py
BATCHABLE_FLOWS) with a stored context carry a ``batch_key`` (their template variant) and
go through emails/batch_send.py, up to 1,000 recipients per SendGrid request; every
other row gets its own job (emails/send_job.py). Without SENDGRID_API_KEY every row takes
the single path and stays in the outbox.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from plugin.db import insert_ignoring_conflicts
from plugin.logs import get_logger
from plugin.models import Customer, EmailSuppression, OutboxMessage, Shop, utcnow
from plugin.models.email import OUTBOX, QUEUED, SENDING, SENT, SUPPRESSED, UNKNOWN

from .batch import BATCHABLE_FLOWS, variant_key
from .flows import get_flow
from .locale import choose_locale
from .render import RenderedEmail, render_email
from .settings import EmailSettings
from .shop_context import common_context, loyalty_context
from .stored_context import decode_context, encode_context
from .tokens import UNSUBSCRIBE, make_token

log = get_logger("emails.outbox")
SEND_JOB = "emails.send_job.send_outbox_message_job"
BATCH_JOB = "emails.batch_send.send_outbox_batch_job"
MAX_BATCH_JOBS_PER_TICK = 100   # x 1,000 recipients
DUE_BATCH = 500
COUNTS_FOR_CAP = (SENT, SENDING, OUTBOX, UNKNOWN)


def message_id_for(shop_domain: str, message_key: str) -> str:
    """Stable 32-hex id: the same key always names the same message (and RQ job)."""
    return hashlib.sha256(f"{shop_domain}\n{message_key}".encode()).hexdigest()[:32]


def _config():
    from plugin.worker_context import job_app
    return job_app().extensions["embajador"].config


def unsubscribe_url(config, shop: Shop, customer: Customer) -> str:
    token = make_token(config.secret_key, UNSUBSCRIBE, {"s": shop.id, "c": customer.id})
    return f"{config.app_url.rstrip('/')}/emails/unsubscribe/{token}"


def suppression_reason(session: Session, shop: Shop, customer: Customer | None, to_email: str | None,
                       marketing: bool, at: datetime, settings: EmailSettings,
                       exclude_id: int | None = None, flow: str | None = None) -> str | None:
    """Why this message may not go now, or None. Shared by queue and send time."""
    if not shop.installed:
        return SHOP_UNINSTALLED

    def blocked(email: str) -> str | None:
        return session.execute(select(EmailSuppression.reason).where(
            EmailSuppression.shop_id == shop.id, EmailSuppression.email == email)).scalar()

    return decide_suppression(customer, to_email, marketing, flow, blocked,
                              lambda: cap_reached(session, customer.id, at, settings, exclude_id))


def decide_suppression(customer: Customer | None, to_email: str | None, marketing: bool, flow: str | None,
                       blocked, cap_hit) -> str | None:
    """The rule, with the lookups passed in (``blocked(email)``, ``cap_hit()``) so the batch
    sender can answer them from one query per batch."""
    if customer is not None and customer.redacted_at is not None:
        return "redacted"
    if not to_email:
        return "no_address"
    if marketing and (customer is None or customer.marketing_state != "SUBSCRIBED"):
        return "no_consent"
    reason = blocked(to_email.strip().lower())
    if reason:
        return reason
    if marketing and customer is not None and flow not in SERIES_FOLLOW_UPS and cap_hit():
        return "frequency_cap"
    return None


# Nothing leaves for a shop that uninstalled the app (app/uninstalled), whatever was queued.
SHOP_UNINSTALLED = "shop_uninstalled"


def suppress_queued_for_uninstalled_shop(session: Session, shop_id: int) -> int:
    """app/uninstalled: every queued row becomes ``suppressed`` with the reason, so a reinstall
    never sends stale mail. Returns the count."""
    result = session.execute(update(OutboxMessage).where(OutboxMessage.shop_id == shop_id,
                                                         OutboxMessage.status == QUEUED)
                             .values(status=SUPPRESSED, reason=SHOP_UNINSTALLED))
    return result.rowcount or 0


# Later steps of a series the shopper started (and the merchant configured) are not held
# back by the cap; they still count against it for every other marketing flow.
SERIES_FOLLOW_UPS = frozenset({"abandoned_checkout_2", "abandoned_checkout_3"})


def cap_reached(session: Session, customer_id: int, at: datetime, settings: EmailSettings,
                exclude_id: int | None = None) -> bool:
    since = at - timedelta(hours=settings.frequency_window_hours)
    query = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.customer_id == customer_id, OutboxMessage.marketing.is_(True),
        OutboxMessage.status.in_(COUNTS_FOR_CAP),
        func.coalesce(OutboxMessage.sent_at, OutboxMessage.claimed_at) > since)
    if exclude_id is not None:
        query = query.where(OutboxMessage.id != exclude_id)
    return session.execute(query).scalar_one() >= settings.frequency_cap


def _full_context(session, shop, customer, flow, marketing, context, now, config) -> dict:
    ctx = common_context(shop, customer)
    if flow.loyalty and customer is not None:
        ctx.update(loyalty_context(session, shop, customer, now))
    if (marketing or flow.marketing) and customer is not None:
        ctx["unsubscribe_url"] = unsubscribe_url(config, shop, customer)
    ctx.update(context)
    return ctx


def queue_email(session: Session, *, shop: Shop, flow: str, message_key: str, to_email: str,
                context: dict, customer: Customer | None = None, locale: str | None = None,
                send_after: datetime | None = None, marketing: bool | None = None,
                now: datetime | None = None) -> int | None:
    """Store one outbox row; returns its id, or None when ``message_key`` was queued before.

    ``context`` holds the flow's own keys (emails/context.py); shop name/URL, the greeting,
    the loyalty block and the unsubscribe link are filled in when missing.
    ``marketing`` overrides the flow's kind (the merchant's choice for notices).
    ``now`` is the caller's clock (a tick's ``--now``), so a message queued by a tick is due
    within that same tick; the wall clock only for callers outside scheduled work."""
    the_flow = get_flow(flow)
    message_id = message_id_for(shop.domain, message_key)
    exists = session.execute(select(OutboxMessage.id).where(
        OutboxMessage.shop_id == shop.id, OutboxMessage.message_id == message_id)).scalar()
    if exists is not None:
        return None
    config = _config()
    settings = EmailSettings.for_shop(shop, config.sendgrid_from_email)
    now = now or utcnow()
    due = max(send_after, now) if send_after else now
    is_marketing = the_flow.marketing if marketing is None else bool(marketing)
    lang = choose_locale(locale or (customer.locale if customer else None), shop.primary_locale)
    render_locale = _with_region(lang, locale, customer, shop)
    email = to_email.strip().lower() if to_email else None
    reason = suppression_reason(session, shop, customer, email, is_marketing, due, settings, flow=the_flow.name)
    values = dict(shop_id=shop.id, message_id=message_id, message_key=message_key[:300],
                  customer_id=customer.id if customer else None, flow=the_flow.name,
                  priority=the_flow.priority, marketing=is_marketing, locale=lang, to_email=email,
                  to_name=_name(customer), status=SUPPRESSED if reason else QUEUED, reason=reason,
                  send_after=due)
    if reason is None:
        ctx = _full_context(session, shop, customer, the_flow, is_marketing, context, now, config)
        rendered = render_email(the_flow.name, render_locale, ctx)
        values.update(subject=rendered.subject, html=rendered.html, text=rendered.text,
                      unsubscribe_url=ctx.get("unsubscribe_url"))
        if the_flow.loyalty and customer is not None:
            values["context"] = encode_context(render_locale, context)
            if the_flow.name in BATCHABLE_FLOWS and values["context"] is not None:
                values["batch_key"] = variant_key(the_flow.name, render_locale, ctx)
    new_id = insert_ignoring_conflicts(session, OutboxMessage, values, ["shop_id", "message_id"])
    if new_id is not None:
        log.info("email queued", extra={"flow": the_flow.name, "status": values["status"]})
    return new_id


def send_time_context(session: Session, row: OutboxMessage, shop: Shop, customer: Customer,
                      now: datetime, config) -> tuple[str, dict] | None:
    """(render locale, full context) for a row about to leave, with today's loyalty block;
    None when the row has no stored context (it keeps its queue-time rendering)."""
    if not row.context or customer is None:
        return None
    render_locale, flow_context = decode_context(row.context)
    flow = get_flow(row.flow)
    return render_locale, _full_context(session, shop, customer, flow, row.marketing, flow_context, now, config)


def render_at_send(session: Session, row: OutboxMessage, shop: Shop, customer: Customer | None,
                   now: datetime, config) -> RenderedEmail | None:
    """Render the row again with current balance/tier and store the result on it."""
    found = send_time_context(session, row, shop, customer, now, config)
    if found is None:
        return None
    rendered = render_email(row.flow, found[0], found[1])
    row.subject, row.html, row.text = rendered.subject, rendered.html, rendered.text
    row.unsubscribe_url = found[1].get("unsubscribe_url")
    return rendered


def _name(customer: Customer | None) -> str | None:
    if customer is None:
        return None
    return " ".join(filter(None, (customer.first_name, customer.last_name))) or None


def _with_region(lang: str, locale: str | None, customer: Customer | None, shop: Shop) -> str:
    """Keep the region of the chosen tag (es-CL formats like Chile) when it matches the language."""
    for tag in (locale, customer.locale if customer else None, shop.primary_locale):
        if tag and tag.lower().startswith(lang):
            return tag
    return lang


def _due(now: datetime):
    return (OutboxMessage.status == QUEUED, OutboxMessage.send_after <= now,
            func.coalesce(OutboxMessage.next_attempt_at, OutboxMessage.send_after) <= now)


def due_message_ids(session: Session, now: datetime, limit: int = DUE_BATCH,
                    single_only: bool = False) -> list[tuple[int, str]]:
    """Queued rows whose time has come, most important flow first (the cap keeps the winner).
    ``single_only``: leave out rows the batch sender takes (they have a batch_key)."""
    query = select(OutboxMessage.id, OutboxMessage.message_id).where(*_due(now))
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
        .where(*_due(now), OutboxMessage.batch_key.is_not(None))
        .group_by(OutboxMessage.priority, OutboxMessage.shop_id, OutboxMessage.flow, OutboxMessage.batch_key))
    return sorted(tuple(r) for r in rows)


def send_due_messages(app_state, now: datetime) -> dict:
    """Tick task: enqueue one send job per due single row (job id from our message_id +
    attempt) and one batch job per 1,000 due rows of a template variant, most important
    flow first; then park rows stuck in 'sending' after a crash (see emails/send_job.py)."""
    from .batch_send import BATCH_SIZE
    from .send_job import park_stale_sending
    batching = bool(app_state.config.sendgrid_api_key)
    with app_state.db.transaction() as session:
        due = due_message_ids(session, now, single_only=batching)
        info = dict((r.id, (r.attempts, r.priority)) for r in session.execute(
            select(OutboxMessage.id, OutboxMessage.attempts, OutboxMessage.priority)
            .where(OutboxMessage.id.in_([i for i, _ in due]))))
        batches = due_batches(session, now) if batching else []
    parked = park_stale_sending(app_state, now)
    work = [(info[row_id][1], 0, SEND_JOB, (row_id, now.isoformat()),
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
        if app_state.queue.enqueue(func_path, *args, job_id=job_id):
            enqueued += 1
    return {"due": len(due) + batch_rows, "enqueued": enqueued, "parked": parked}
