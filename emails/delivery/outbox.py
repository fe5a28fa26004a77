"""The outbox: every email is a row first, sent later by a job.

``queue_email`` is the one way in (lifecycle flows, feedback, abandoned checkouts). A row
is keyed by (shop, message_id), message_id being a hash of the caller's message_key, so a
replayed event or webhook never queues twice. Rendering happens at queue time (so
`embajador outbox` shows the message) and, for loyalty flows, again at send time: the
flow's own context is stored on the row (emails/content/stored_context.py) and the loyalty
block (balance, tier, progress) is read afresh when the row is claimed, so a
feedback_request queued a week ahead shows the balance of the day it leaves. The stored
subject/HTML/text is then exactly what the shopper got.

Consent, suppression (bounces, spam reports) and the frequency cap are checked when the
row is queued and again when it is sent (emails/delivery/suppression.py); a row that may
not go is kept as ``suppressed`` with the reason, so the merchant can see why a message
did not leave. Rows of mass flows (emails/delivery/batch.py BATCHABLE_FLOWS) with a stored
context carry a ``batch_key`` (their template variant); emails/delivery/scheduling.py
sends what is due.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emails.content.flows import get_flow
from emails.content.locale import choose_locale
from emails.content.render import RenderedEmail, render_email
from emails.content.shop_context import common_context, loyalty_context
from emails.content.stored_context import decode_context, encode_context
from emails.delivery.batch import BATCHABLE_FLOWS, variant_key
from emails.delivery.settings import TEST_SEND_PREFIX, EmailSettings
from emails.delivery.suppression import suppression_reason
from emails.delivery.unsubscribe import unsubscribe_url
from plugin.app_state import state
from plugin.config import Config
from plugin.db import insert_ignoring_conflicts
from plugin.logs import get_logger
from plugin.models import Customer, OutboxMessage, Shop, utcnow
from plugin.models.email import QUEUED, SUPPRESSED

log = get_logger("emails.delivery.outbox")


def message_id_for(shop_domain: str, message_key: str) -> str:
    """Stable 32-hex id: the same key always names the same message (and RQ job)."""
    return hashlib.sha256(f"{shop_domain}\n{message_key}".encode()).hexdigest()[:32]


def _full_context(session, shop, customer, flow, marketing, context, now, config) -> dict:
    ctx = common_context(shop, customer)
    if flow.loyalty and customer is not None:
        ctx.update(loyalty_context(session, shop, customer, now))
    if (marketing or flow.marketing) and customer is not None:
        ctx["unsubscribe_url"] = unsubscribe_url(config.secret_key, config.app_url, shop, customer)
    ctx.update(context)
    return ctx


def queue_email(session: Session, *, shop: Shop, flow: str, message_key: str, to_email: str,
                context: dict, customer: Customer | None = None, locale: str | None = None,
                send_after: datetime | None = None, marketing: bool | None = None,
                config: Config | None = None, now: datetime | None = None,
                test_send: bool = False) -> int | None:
    """Store one outbox row; returns its id, or None when ``message_key`` was queued before.

    ``context`` holds the flow's own keys (emails/content/context.py); shop name/URL, the greeting,
    the loyalty block and the unsubscribe link are filled in when missing.
    ``marketing`` overrides the flow's kind (the merchant's choice for notices).
    ``config`` (secret, app URL, default sender): the running app's when not given.
    ``now`` is the caller's clock (a tick's ``--now``), so a message queued by a tick is due
    within that same tick; the wall clock only for callers outside scheduled work.
    The merchant's per-flow choices apply (emails/delivery/settings.py FlowSettings): a flow
    switched off is kept ``suppressed`` (flow_off); its delay is added to ``send_after`` (or now).
    ``test_send``: a sample to the merchant, sent at once even if the flow is off."""
    the_flow = get_flow(flow)
    if test_send:
        message_key = TEST_SEND_PREFIX + message_key
    message_id = message_id_for(shop.domain, message_key)
    exists = session.execute(select(OutboxMessage.id).where(
        OutboxMessage.shop_id == shop.id, OutboxMessage.message_id == message_id)).scalar()
    if exists is not None:
        return None
    config = config or state().config
    settings = EmailSettings.for_shop(shop, config.sendgrid_from_email)
    now = now or utcnow()
    delay = timedelta(0) if test_send else settings.flow_delay(the_flow.name)
    due = max((send_after or now) + delay, now)
    is_marketing = the_flow.marketing if marketing is None else bool(marketing)
    lang = choose_locale(locale or (customer.locale if customer else None), shop.primary_locale)
    render_locale = _with_region(lang, locale, customer, shop)
    email = to_email.strip().lower() if to_email else None
    reason = suppression_reason(session, shop, customer, email, is_marketing, due, settings,
                                flow=None if test_send else the_flow.name)
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


def due_filter(now: datetime) -> tuple:
    """Conditions of a queued row whose time (and retry time) has come."""
    return (OutboxMessage.status == QUEUED, OutboxMessage.send_after <= now,
            func.coalesce(OutboxMessage.next_attempt_at, OutboxMessage.send_after) <= now)


