"""Public email endpoints: SendGrid's Event Webhook, one-click survey links and
unsubscribe links. None needs a login: each is authenticated by a signature."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template_string, request

from plugin import state
from plugin.models import Shop, utcnow

from .event_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, EventPayloadError, parse_events, verify_event_signature
from .events import enqueue_consent_push, record_events, unsubscribe
from .feedback import FeedbackError, add_comment, record_score
from .locale import choose_locale
from .tokens import SURVEY, UNSUBSCRIBE, InvalidToken, read_token

bp = Blueprint("emails", __name__)

COPY = {
    "es": {"thanks": "¡Gracias por tu respuesta!", "score": "Tu nota", "comment": "¿Quieres contarnos algo más?",
           "send": "Enviar", "saved": "Gracias, recibimos tu comentario.", "expired": "Este enlace venció.",
           "invalid": "Este enlace no es válido.", "unsubscribed": "Ya no recibirás correos de marketing.",
           "confirm": "¿Dejar de recibir correos de marketing?", "leave": "Darme de baja"},
    "en": {"thanks": "Thank you for your answer!", "score": "Your score", "comment": "Anything else to tell us?",
           "send": "Send", "saved": "Thanks, we got your comment.", "expired": "This link has expired.",
           "invalid": "This link is not valid.", "unsubscribed": "You will no longer receive marketing emails.",
           "confirm": "Stop receiving marketing emails?", "leave": "Unsubscribe"},
    "pt": {"thanks": "Obrigado pela sua resposta!", "score": "Sua nota", "comment": "Quer nos contar mais alguma coisa?",
           "send": "Enviar", "saved": "Obrigado, recebemos seu comentário.", "expired": "Este link expirou.",
           "invalid": "Este link não é válido.", "unsubscribed": "Você não receberá mais e-mails de marketing.",
           "confirm": "Deixar de receber e-mails de marketing?", "leave": "Cancelar inscrição"},
}

PAGE = """<!doctype html><html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{{ shop }}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#202223}
textarea{width:100%;min-height:6rem}</style></head><body><h1>{{ title }}</h1>
{% if score is not none %}<p>{{ t.score }}: <strong>{{ score }}</strong></p>
<form method="post" action="{{ action }}"><label>{{ t.comment }}<br><textarea name="comment" maxlength="5000"></textarea></label>
<p><button type="submit">{{ t.send }}</button></p></form>{% endif %}
{% if confirm %}<form method="post" action="{{ action }}"><p><button type="submit">{{ t.leave }}</button></p></form>{% endif %}
</body></html>"""


def _page(lang: str, shop_name: str, title: str, score=None, action: str = "", status: int = 200,
          confirm: bool = False):
    return render_template_string(PAGE, lang=lang, t=COPY[lang], title=title, score=score, shop=shop_name,
                                  action=action, confirm=confirm), status


@bp.post("/sendgrid/events")
def sendgrid_events():
    """Verify the ECDSA signature over the exact bytes, then record; nothing stored on failure."""
    app_state = state()
    key = app_state.config.sendgrid_event_public_key
    if not key:
        return jsonify(error="SENDGRID_EVENT_PUBLIC_KEY is not configured"), 503
    raw = request.get_data(cache=False)
    if not verify_event_signature(key, raw, request.headers.get(SIGNATURE_HEADER),
                                  request.headers.get(TIMESTAMP_HEADER)):
        return jsonify(error="bad signature"), 401
    try:
        events = parse_events(raw)
    except EventPayloadError as exc:
        return jsonify(error=str(exc)), 400
    with app_state.db.transaction() as session:
        counts = record_events(session, events)
    for shop_id in counts.pop("unsubscribed_shops", ()):
        enqueue_consent_push(app_state.queue, shop_id, utcnow())
    return jsonify(counts), 200


def _survey_token(token: str):
    app_state = state()
    try:
        payload = read_token(app_state.config.secret_key, SURVEY, token, utcnow())
    except InvalidToken as exc:
        return None, _page("es", "", COPY["es"]["expired" if exc.expired else "invalid"], status=410 if exc.expired else 404)
    return payload, None


def _lang(shop: Shop, customer_id) -> str:
    from plugin.models import Customer
    with state().db.transaction() as session:
        customer = session.get(Customer, customer_id)
        return choose_locale(customer.locale if customer else None, shop.primary_locale)


@bp.get("/survey/<token>")
def survey_score(token: str):
    """One click from the email records the score (updates it on a later click)."""
    payload, error = _survey_token(token)
    if error:
        return error
    app_state = state()
    score = request.args.get("score", type=int)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, payload["s"])
        if shop is None:
            abort(404)
        lang = _lang(shop, payload["c"])
        if score is None:
            return _page(lang, shop.name or "", COPY[lang]["invalid"], status=400)
        try:
            record_score(session, shop, payload, score, utcnow(), app_state.config.app_url,
                         app_state.config.sendgrid_from_email)
        except FeedbackError:
            return _page(lang, shop.name or "", COPY[lang]["invalid"], status=400)
        return _page(lang, shop.name or "", COPY[lang]["thanks"], score=score,
                     action=f"/survey/{token}/comment")


@bp.post("/survey/<token>/comment")
def survey_comment(token: str):
    payload, error = _survey_token(token)
    if error:
        return error
    with state().db.transaction() as session:
        shop = session.get(Shop, payload["s"])
        if shop is None:
            abort(404)
        lang = _lang(shop, payload["c"])
        if not add_comment(session, shop, payload, request.form.get("comment", "")):
            return _page(lang, shop.name or "", COPY[lang]["invalid"], status=409)
        return _page(lang, shop.name or "", COPY[lang]["saved"])


@bp.route("/emails/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe_link(token: str):
    """Link in marketing emails (GET asks, so mail scanners that prefetch links change nothing)
    and RFC 8058 one-click POST (withdraws marketing consent)."""
    try:
        payload = read_token(state().config.secret_key, UNSUBSCRIBE, token, utcnow())
    except InvalidToken:
        return _page("es", "", COPY["es"]["invalid"], status=404)
    with state().db.transaction() as session:
        shop = session.get(Shop, payload["s"])
        if shop is None:
            abort(404)
        lang = _lang(shop, payload["c"])
        if request.method == "GET":
            return _page(lang, shop.name or "", COPY[lang]["confirm"], action=request.path, confirm=True)
        unsubscribe(session, shop.id, payload["c"], None)
        page = _page(lang, shop.name or "", COPY[lang]["unsubscribed"])
    enqueue_consent_push(state().queue, payload["s"], utcnow())
    return page
