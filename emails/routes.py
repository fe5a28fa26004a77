"""Public email endpoints: SendGrid's Event Webhook, one-click survey links and
unsubscribe links. None needs a login: each is authenticated by a signature."""
from __future__ import annotations

import time

from flask import Blueprint, abort, jsonify, render_template_string, request

from emails.content.locale import choose_locale
from emails.delivery.event_batches import store_event_batch
from emails.delivery.events import unsubscribe
from emails.delivery.tokens import SURVEY, UNSUBSCRIBE, InvalidToken, read_token
from emails.sendgrid.event_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_event_signature
from plugin.app_state import state
from plugin.feedback.survey_links import survey_scale
from plugin.feedback.surveys import FeedbackError, add_comment, record_score
from plugin.models import Shop, utcnow

bp = Blueprint("emails", __name__)

COPY = {
    "es": {"thanks": "¡Gracias por tu respuesta!", "score": "Tu nota", "comment": "¿Quieres contarnos algo más?",
           "send": "Enviar", "saved": "Gracias, recibimos tu comentario.", "expired": "Este enlace venció.",
           "invalid": "Este enlace no es válido.", "unsubscribed": "Ya no recibirás correos de marketing.",
           "confirm": "¿Dejar de recibir correos de marketing?", "leave": "Darme de baja",
           "choose": "Elige tu nota y confírmala:", "submit": "Enviar mi nota"},
    "en": {"thanks": "Thank you for your answer!", "score": "Your score", "comment": "Anything else to tell us?",
           "send": "Send", "saved": "Thanks, we got your comment.", "expired": "This link has expired.",
           "invalid": "This link is not valid.", "unsubscribed": "You will no longer receive marketing emails.",
           "confirm": "Stop receiving marketing emails?", "leave": "Unsubscribe",
           "choose": "Pick your score and confirm it:", "submit": "Send my score"},
    "pt": {"thanks": "Obrigado pela sua resposta!", "score": "Sua nota", "comment": "Quer nos contar mais alguma coisa?",
           "send": "Enviar", "saved": "Obrigado, recebemos seu comentário.", "expired": "Este link expirou.",
           "invalid": "Este link não é válido.", "unsubscribed": "Você não receberá mais e-mails de marketing.",
           "confirm": "Deixar de receber e-mails de marketing?", "leave": "Cancelar inscrição",
           "choose": "Escolha sua nota e confirme:", "submit": "Enviar minha nota"},
}

PAGE = """<!doctype html><html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{{ shop }}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#202223}
textarea{width:100%;min-height:6rem}</style></head><body><h1>{{ title }}</h1>
{% if score is not none %}<p>{{ t.score }}: <strong>{{ score }}</strong></p>
<form method="post" action="{{ action }}"><label>{{ t.comment }}<br><textarea name="comment" maxlength="5000"></textarea></label>
<p><button type="submit">{{ t.send }}</button></p></form>{% endif %}
{% if confirm %}<form method="post" action="{{ action }}"><p><button type="submit">{{ t.leave }}</button></p></form>{% endif %}
{% if scale %}<form method="post" action="{{ action }}"><p>{{ t.choose }}</p><p>{% for n in scale %}
<label><input type="radio" name="score" value="{{ n }}"{% if n == chosen %} checked{% endif %}> {{ n }}</label>
{% endfor %}</p><label>{{ t.comment }}<br><textarea name="comment" maxlength="5000"></textarea></label>
<p><button type="submit">{{ t.submit }}</button></p></form>{% endif %}
</body></html>"""


def _page(lang: str, shop_name: str, title: str, score=None, action: str = "", status: int = 200,
          confirm: bool = False, scale=(), chosen=None):
    return render_template_string(PAGE, lang=lang, t=COPY[lang], title=title, score=score, shop=shop_name,
                                  action=action, confirm=confirm, scale=scale, chosen=chosen), status


@bp.post("/sendgrid/events")
def sendgrid_events():
    """Verify the ECDSA signature over the exact bytes and its freshness, store the batch and
    answer; a job parses and records the events (parsing 20,000 events alone takes longer
    than a request should; a signed body that is not an event array is recorded ``failed``).
    Nothing is stored when the signature fails."""
    app_state = state()
    key = app_state.config.sendgrid_event_public_key
    if not key:
        return jsonify(error="SENDGRID_EVENT_PUBLIC_KEY is not configured"), 503
    raw = request.get_data(cache=False)
    if not verify_event_signature(key, raw, request.headers.get(SIGNATURE_HEADER),
                                  request.headers.get(TIMESTAMP_HEADER), now=wall_clock()):
        return jsonify(error="bad or expired signature"), 401
    try:
        batch_id = store_event_batch(app_state, raw)
    except UnicodeDecodeError:
        return jsonify(error="the event body is not UTF-8 JSON"), 400
    return jsonify(status="queued", batch_id=batch_id), 200


def wall_clock() -> float:
    """The time signatures are checked against (a seam for tests of recorded vectors)."""
    return time.time()


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


def _survey_shop(session, payload: dict) -> tuple[Shop, str]:
    """The link's shop (404 once it is gone) and the language to answer in."""
    shop = session.get(Shop, payload["s"])
    if shop is None:
        abort(404)
    return shop, _lang(shop, payload["c"])


@bp.get("/survey/<token>")
def survey_page(token: str):
    """The link in the email only shows the question with the clicked score preselected: mail
    scanners fetch (and may run scripts on) every link, so nothing is recorded until the
    shopper presses the button (a POST; the page has no script that could submit it)."""
    payload, error = _survey_token(token)
    if error:
        return error
    with state().db.transaction() as session:
        shop, lang = _survey_shop(session, payload)
        scale = survey_scale(payload["t"])
        chosen = request.args.get("score", type=int)
        return _page(lang, shop.name or "", shop.name or COPY[lang]["score"], action=request.path, scale=scale,
                     chosen=chosen if chosen in scale else None)


@bp.post("/survey/<token>")
def survey_answer(token: str):
    """The shopper's explicit answer: records (or updates) the score and an optional comment."""
    payload, error = _survey_token(token)
    if error:
        return error
    app_state = state()
    score = request.form.get("score", type=int)
    with app_state.db.transaction() as session:
        shop, lang = _survey_shop(session, payload)
        if score is None:
            return _page(lang, shop.name or "", COPY[lang]["invalid"], status=400)
        try:
            record_score(session, shop, payload, score, utcnow(), app_state.config.app_url,
                         app_state.config.sendgrid_from_email)
        except FeedbackError:
            return _page(lang, shop.name or "", COPY[lang]["invalid"], status=400)
        comment = request.form.get("comment", "").strip()
        if comment:
            add_comment(session, shop, payload, comment)
            return _page(lang, shop.name or "", COPY[lang]["saved"])
        return _page(lang, shop.name or "", COPY[lang]["thanks"], score=score,
                     action=f"/survey/{token}/comment")


@bp.post("/survey/<token>/comment")
def survey_comment(token: str):
    payload, error = _survey_token(token)
    if error:
        return error
    with state().db.transaction() as session:
        shop, lang = _survey_shop(session, payload)
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
        return _page(lang, shop.name or "", COPY[lang]["unsubscribed"])
