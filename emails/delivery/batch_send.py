"""Sending the outbox rows of mass flows (birthdays of the day, expiry warnings and last
chances, win-back) up to 1,000 recipients per SendGrid request, with every guarantee of
the single sender (emails/delivery/send_job.py).

Grouping. At queue time a row of a BATCHABLE flow with a stored context gets a
``batch_key``: its template variant (emails/delivery/batch.py: flow + render locale + every shared
value + the shape of each per-recipient value). The tick enqueues one batch job per
1,000 due rows of a (shop, flow, batch_key) group, most important flow first.

1. Claim (one transaction): take up to 1,000 due rows of the group ``FOR UPDATE SKIP
   LOCKED`` (two jobs never get the same row), lock their customers in id order (no
   deadlock between jobs; a single-row job locks row then customer and holds nothing
   else), re-check consent / suppression / frequency cap per row from two queries (the
   suppression list and the recent marketing count of all these customers), build each
   row's context afresh (today's balance and tier) and its variant again — a row whose
   shape changed simply lands in another request — then mark every row ``sending`` with
   attempts+1. For each variant: render once with substitution tags
   (render_batch_email), one personalization per row (its address once per request, its
   own ``custom_args`` message_id, its substitutions and one-click List-Unsubscribe), and
   store on the row the exact subject/HTML/text its recipient gets.
2. Post each request outside any transaction.
3. Record (one transaction per request), for exactly that request's rows: 202 → all
   ``sent``; 429/5xx/network → all ``queued`` again with backoff (Retry-After honoured);
   other 4xx → all ``failed``. Rows of the other requests are untouched, so a 500 on one
   request re-sends only its rows, once, on a later tick.

A crash between 2 and 3 leaves rows ``sending``: parked as ``unknown`` like single rows,
never re-sent blindly. A row the batch cannot handle (its customer was deleted) loses its
batch_key and takes the single path on the next tick.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from emails.content.context import MissingContextError
from emails.content.flows import get_flow
from emails.content.render import recipient_substitutions
from emails.delivery.batch import batch_template, substituted_keys, variant_key
from emails.delivery.outbox import due_filter, send_time_context
from emails.delivery.send_job import apply_result
from emails.delivery.settings import EmailSettings
from emails.delivery.suppression import COUNTS_FOR_CAP, FLOW_OFF, SHOP_UNINSTALLED, decide_suppression
from emails.sendgrid.client import SendGridSender, SendResult
from emails.sendgrid.mail_request import MAX_PERSONALIZATIONS, MailRequestError, Recipient, build_batches
from plugin.app_state import state
from plugin.logs import get_logger
from plugin.models import Customer, EmailSuppression, OutboxMessage, Shop, utcnow
from plugin.models.email import FAILED, SENDING, SUPPRESSED

log = get_logger("emails.delivery.batch_send")
BATCH_SIZE = MAX_PERSONALIZATIONS


@dataclass(frozen=True)
class PreparedRequest:
    body: dict
    row_ids: tuple[int, ...]


def send_outbox_batch_job(shop_id: int, flow: str, batch_key: str, now_iso: str | None = None) -> dict:
    """RQ entry point (job id ``email-batch-<shop>-<batch_key>-<tick>-<n>``)."""
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    return send_outbox_batch(state(), shop_id, flow, batch_key, now)


def send_outbox_batch(app_state, shop_id: int, flow: str, batch_key: str, now: datetime) -> dict:
    """Claim up to 1,000 due rows of one variant group, post, record. Returns counts."""
    config = app_state.config
    prepared, counts = _claim(app_state, shop_id, flow, batch_key, now)
    if prepared:
        sender = SendGridSender(config.sendgrid_api_key, config.sendgrid_api_host)
        for request in prepared:
            result = sender.post(request.body, now)
            counts[_record(app_state, request.row_ids, result, now)] += len(request.row_ids)
    counts["requests"] = len(prepared)
    log.info("email batch", extra={"flow": flow, "status": " ".join(f"{k}={v}" for k, v in sorted(counts.items()))})
    return dict(counts)


def _claim(app_state, shop_id: int, flow: str, batch_key: str, now: datetime):
    config = app_state.config
    counts: Counter = Counter()
    with app_state.db.transaction() as session:
        rows = session.execute(
            select(OutboxMessage).where(OutboxMessage.shop_id == shop_id, OutboxMessage.flow == flow,
                                        OutboxMessage.batch_key == batch_key, *due_filter(now))
            .order_by(OutboxMessage.id).limit(BATCH_SIZE).with_for_update(skip_locked=True)).scalars().all()
        if not rows:
            return [], counts
        shop = session.get(Shop, shop_id)
        settings = EmailSettings.for_shop(shop, config.sendgrid_from_email, flow=flow)  # the flow's sender
        customers = _lock_customers(session, rows)
        blocked = _blocked(session, shop_id, rows)
        recent = _recent_marketing(session, list(customers), now - timedelta(hours=settings.frequency_window_hours))
        claim = _Claim(shop, settings, customers, blocked, recent, counts)
        with session.no_autoflush:  # the loop's reads need none of its writes (the cap counts in memory)
            for row in rows:
                _claim_row(session, claim, row, now, config)
        prepared: list[PreparedRequest] = []
        for (_variant, marketing), (render_locale, members) in claim.groups.items():
            try:
                prepared.extend(_requests(shop, settings, flow, marketing, render_locale, members, now))
            except (MailRequestError, MissingContextError, ValueError, TypeError) as exc:
                for row, _ctx in members:
                    _fail(row, "invalid_request", exc, counts)
        return prepared, counts


@dataclass
class _Claim:
    shop: Shop
    settings: EmailSettings
    customers: dict[int, Customer]
    blocked: dict[str, str]
    recent: Counter
    counts: Counter
    groups: dict[tuple[str, bool], tuple[str, list]] = field(default_factory=dict)


def _claim_row(session, claim: _Claim, row: OutboxMessage, now: datetime, config) -> None:
    """Re-check one row, build today's context, file it under its variant, mark it sending."""
    customer = claim.customers.get(row.customer_id)
    reason = SHOP_UNINSTALLED if not claim.shop.installed else FLOW_OFF if not claim.settings.flow_enabled(
        row.flow) else decide_suppression(
        customer, row.to_email, row.marketing, row.flow, claim.blocked.get,
        lambda: claim.recent[customer.id] >= claim.settings.frequency_cap)
    if reason:
        row.status, row.reason = SUPPRESSED, reason
        claim.counts[SUPPRESSED] += 1
        return
    try:
        found = send_time_context(session, row, claim.shop, customer, now, config)
    except (MissingContextError, ValueError, TypeError, KeyError) as exc:
        _fail(row, "render_error", exc, claim.counts)
        return
    if found is None:
        row.batch_key = None  # the single path takes it next tick
        claim.counts["to_single"] += 1
        return
    render_locale, ctx = found
    key = (variant_key(row.flow, render_locale, ctx), row.marketing)
    claim.groups.setdefault(key, (render_locale, []))[1].append((row, ctx))
    if row.marketing:
        claim.recent[customer.id] += 1
    row.status, row.attempts, row.claimed_at = SENDING, row.attempts + 1, now


def _fail(row: OutboxMessage, reason: str, exc: Exception, counts: Counter) -> None:
    row.status, row.reason, row.last_error = FAILED, reason, str(exc)[:1000]
    counts[FAILED] += 1


def _lock_customers(session, rows) -> dict[int, Customer]:
    ids = sorted({r.customer_id for r in rows if r.customer_id is not None})
    found = session.execute(select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id)
                            .with_for_update()).scalars().all()
    return {c.id: c for c in found}


def _blocked(session, shop_id: int, rows) -> dict[str, str]:
    emails = sorted({r.to_email.strip().lower() for r in rows if r.to_email})
    return dict(session.execute(select(EmailSuppression.email, EmailSuppression.reason).where(
        EmailSuppression.shop_id == shop_id, EmailSuppression.email.in_(emails))).all())


def _recent_marketing(session, customer_ids: list[int], since: datetime) -> Counter:
    """Marketing mail each customer got (or is getting) in the cap window."""
    return Counter(dict(session.execute(
        select(OutboxMessage.customer_id, func.count(OutboxMessage.id))
        .where(OutboxMessage.customer_id.in_(customer_ids), OutboxMessage.marketing.is_(True),
               OutboxMessage.status.in_(COUNTS_FOR_CAP),
               func.coalesce(OutboxMessage.sent_at, OutboxMessage.claimed_at) > since)
        .group_by(OutboxMessage.customer_id)).all()))


def _fill(template: str, substitutions: dict[str, str]) -> str:
    """What SendGrid does with a personalization's substitutions (plain replacement)."""
    for tag, value in substitutions.items():
        template = template.replace(tag, value)
    return template


def _requests(shop: Shop, settings: EmailSettings, flow_name: str, marketing: bool, render_locale: str,
              members: list, now: datetime) -> list[PreparedRequest]:
    if not settings.from_email:
        raise MailRequestError("no sender address: set SENDGRID_FROM_EMAIL or the shop's emails.from_email")
    flow = get_flow(flow_name)
    first = members[0][1]
    tagged = substituted_keys(first)
    template = batch_template(flow_name, render_locale, first, tagged, shop=shop.domain,
                              from_email=settings.from_email, from_name=settings.from_name,
                              reply_to=settings.reply_to, categories=flow.categories,
                              asm_group_id=settings.asm_group_id if marketing else None)
    recipients, by_message = [], {}
    for row, ctx in members:
        subs = recipient_substitutions({k: ctx[k] for k in tagged}, render_locale, ctx.get("country"))
        row.subject, row.html, row.text = (_fill(template.subject, subs), _fill(template.html, subs),
                                           _fill(template.text, subs))
        row.unsubscribe_url = ctx.get("unsubscribe_url")
        one_click = row.unsubscribe_url if (marketing and row.unsubscribe_url
                                            and row.unsubscribe_url.startswith("https://")) else None
        recipients.append(Recipient(email=row.to_email, message_id=row.message_id, name=row.to_name,
                                    substitutions=subs, list_unsubscribe=one_click))
        by_message[row.message_id] = row.id
    return [PreparedRequest(body, tuple(by_message[p["custom_args"]["message_id"]] for p in body["personalizations"]))
            for body in build_batches(template, recipients, now)]


def _record(app_state, row_ids: tuple[int, ...], result: SendResult, now: datetime) -> str:
    with app_state.db.transaction() as session:
        rows = session.execute(select(OutboxMessage).where(OutboxMessage.id.in_(row_ids),
                                                           OutboxMessage.status == SENDING)
                               .order_by(OutboxMessage.id).with_for_update()).scalars().all()
        for row in rows:
            apply_result(row, result, now)
        return rows[0].status if rows else "skipped"
