"""Admin API: every email flow with its consent kind and SendGrid event counts, a rendered
preview per language with sample data, and a test send to the merchant."""
from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import func, select

from emails.content.flows import FLOWS, get_flow
from emails.content.render import render_email
from emails.delivery.outbox import queue_email
from plugin.admin import bp
from plugin.admin.email_samples import sample_context
from plugin.admin.i18n import LANGS, choose_lang
from plugin.admin.session import current_shop, require_session_token
from plugin.app_state import state
from plugin.models import EmailEvent, OutboxMessage, utcnow
from plugin.web.json_body import json_object

SEND_JOB = "emails.delivery.send_job.send_outbox_message_job"
PREVIEW_CSP = "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'"
COUNTED_EVENTS = ("delivered", "open", "click", "bounce", "unsubscribe", "spamreport", "dropped")


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
            events.setdefault(flow, {})[event] = count
        settings = (shop.settings or {}).get("emails") or {}
        flows = [{"flow": f.name, "marketing": f.marketing, "audience": f.audience, "loyalty": f.loyalty,
                  "counts": {"sent": sent.get(f.name, 0), **events.get(f.name, {})}} for f in FLOWS.values()]
        sender = {"from_email": settings.get("from_email") or state().config.sendgrid_from_email,
                  "merchant_email": settings.get("merchant_email")}
        return jsonify(flows=flows, sender=sender)


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
        outbox_id = queue_email(session, shop=shop, flow=get_flow(flow).name, to_email=to,
                                context=_context(shop, flow, lang), locale=choose_lang(lang), marketing=False,
                                message_key=f"admin-test:{flow}:{lang}:{utcnow().isoformat()}")
    if outbox_id is not None:
        app_state.queue.enqueue(SEND_JOB, outbox_id, job_id=f"outbox-{outbox_id}-test")
    return jsonify(to=to, outbox_id=outbox_id)
