"""Admin API: every email flow with its consent kind (read-only), the merchant's on/off, delay
and sender (plugin/admin/email_flows.py) and SendGrid event counts, a rendered preview per
language with sample data, and a test send to the merchant."""
from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import func, select

from emails.content.flows import FLOWS, get_flow
from emails.content.render import render_email
from emails.delivery.outbox import queue_email
from emails.delivery.settings import EmailSettings
from plugin.admin import bp
from plugin.admin.email_flows import (
    FIELDS,
    FlowSettingsError,
    flow_view,
    parse_flow_settings,
    program_timing,
    save_flow_settings,
)
from plugin.admin.email_samples import sample_context
from plugin.admin.i18n import LANGS, choose_lang
from plugin.admin.session import current_shop, require_session_token
from plugin.app_state import state
from plugin.lifecycle.dispatch import shop_surveys
from plugin.loyalty.status import shop_program
from plugin.models import EmailEvent, OutboxMessage, utcnow
from plugin.web.json_body import json_object

SEND_JOB = "emails.delivery.send_job.send_outbox_message_job"
PREVIEW_CSP = "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'"
COUNTED_EVENTS = ("delivered", "open", "click", "bounce", "unsubscribe", "group_unsubscribe", "spamreport",
                  "dropped")
# With an unsubscribe group (ASM) on marketing mail SendGrid reports `group_unsubscribe`, not
# `unsubscribe` (both are in ../shared/fixtures/sendgrid/events_examples_by_type.json): the
# page counts them together.
SAME_COUNT = {"group_unsubscribe": "unsubscribe"}


def _context(shop, flow: str, lang: str) -> dict:
    return sample_context(flow, shop.name or shop.domain, f"https://{shop.domain}", shop.currency, lang,
                          state().config.app_url)


@bp.get("/api/emails/flows")
@require_session_token
def email_flows():
    with state().db.transaction() as session:
        shop = current_shop(session)
        sent: dict[str, int] = dict(session.execute(  # type: ignore[arg-type]
            select(OutboxMessage.flow, func.count()).where(OutboxMessage.shop_id == shop.id,
                                                          OutboxMessage.status.in_(("sent", "outbox")))
            .group_by(OutboxMessage.flow)).all())
        events: dict[str, dict[str, int]] = {}
        for flow, event, count in session.execute(
                select(OutboxMessage.flow, EmailEvent.event, func.count(func.distinct(EmailEvent.outbox_id)))
                .join(OutboxMessage, OutboxMessage.id == EmailEvent.outbox_id)
                .where(EmailEvent.shop_id == shop.id, OutboxMessage.shop_id == shop.id,
                       EmailEvent.event.in_(COUNTED_EVENTS))
                .group_by(OutboxMessage.flow, EmailEvent.event)):
            counted = events.setdefault(flow, {})
            key = SAME_COUNT.get(event, event)
            counted[key] = counted.get(key, 0) + count
        settings = EmailSettings.for_shop(shop, state().config.sendgrid_from_email)
        program = shop_program(shop)
        surveys = shop_surveys(shop, settings)
        flows = [{"flow": f.name, "marketing": f.marketing, "audience": f.audience, "loyalty": f.loyalty,
                  **flow_view(f.name, settings), "program_timing": program_timing(f.name, program, surveys),
                  "counts": {"sent": sent.get(f.name, 0), **events.get(f.name, {})}} for f in FLOWS.values()]
        sender = {"from_email": settings.from_email, "from_name": settings.from_name,
                  "merchant_email": settings.merchant_email}
        return jsonify(flows=flows, sender=sender)


@bp.put("/api/emails/flows/<flow>")
@require_session_token
def put_email_flow(flow: str):
    """On/off, delay (minutes after the event) and sender of one flow; its consent kind is not settable."""
    if flow not in FLOWS:
        return jsonify(error=f"flow: unknown flow {flow!r}", field="flow", errors={"flow": "unknown flow"}), 404
    body = json_object()
    with state().db.transaction() as session:
        shop = current_shop(session)
        settings = EmailSettings.for_shop(shop, state().config.sendgrid_from_email)
        current = flow_view(flow, settings)
        try:
            chosen = parse_flow_settings(flow, {**{k: current[k] for k in FIELDS}, **body})
        except FlowSettingsError as exc:
            return jsonify(error=f"{exc.field}: {exc.message}", field=exc.field, errors={exc.field: exc.message}), 400
        save_flow_settings(shop, flow, chosen)
        return jsonify(flow=flow, **flow_view(flow, EmailSettings.for_shop(shop, state().config.sendgrid_from_email)))


@bp.get("/api/emails/preview/<flow>")
@require_session_token
def email_preview(flow: str):
    if flow not in FLOWS:
        return jsonify(error=f"flow: unknown flow {flow!r}", field="flow", errors={"flow": "unknown flow"}), 404
    lang = request.args.get("locale", "es")
    if lang not in LANGS:
        return jsonify(error=f"locale: one of {', '.join(LANGS)}", field="locale",
                       errors={"locale": f"one of {', '.join(LANGS)}"}), 400
    with state().db.transaction() as session:
        shop = current_shop(session)
        rendered = render_email(flow, lang, _context(shop, flow, lang))
    return rendered.html, 200, {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": PREVIEW_CSP}


@bp.post("/api/emails/test")
@require_session_token
def email_test():
    body = json_object()
    flow, lang = body.get("flow"), body.get("locale")
    if not isinstance(flow, str) or flow not in FLOWS:
        return jsonify(error="flow: unknown flow", field="flow", errors={"flow": "unknown flow"}), 400
    if lang not in LANGS:
        return jsonify(error=f"locale: one of {', '.join(LANGS)}", field="locale",
                       errors={"locale": f"one of {', '.join(LANGS)}"}), 400
    app_state = state()
    with app_state.db.transaction() as session:
        shop = current_shop(session)
        settings = (shop.settings or {}).get("emails") or {}
        to = settings.get("merchant_email") or settings.get("from_email")
        if not to:
            return jsonify(error="merchant_email: set the sender first (onboarding)", field="merchant_email"), 409
        # A test goes even for a switched-off flow, at once, from the flow's sender.
        outbox_id = queue_email(session, shop=shop, flow=get_flow(flow).name, to_email=to,
                                context=_context(shop, flow, lang), locale=choose_lang(lang), marketing=False,
                                message_key=f"admin-test:{flow}:{lang}:{utcnow().isoformat()}", test_send=True)
    if outbox_id is not None:
        app_state.queue.enqueue(SEND_JOB, outbox_id, job_id=f"outbox-{outbox_id}-test")
    return jsonify(to=to, outbox_id=outbox_id)
