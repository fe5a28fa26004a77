"""The survey pages a feedback_request email links to. The link (GET /survey/<token>?score=n)
only shows the question with that score preselected: mail scanners fetch every link in a
message (some run scripts), so nothing is recorded until the shopper presses the button
(POST /survey/<token>, score and optional comment); a comment can follow
(POST /survey/<token>/comment). No login: each link is authenticated by its signed token."""
from __future__ import annotations

from flask import Blueprint, abort, request
from sqlalchemy.orm import Session

from emails.content.landing_page import landing_page
from emails.content.locale import choose_locale
from emails.delivery.tokens import SURVEY, InvalidToken, read_token
from plugin.app_state import state
from plugin.feedback.survey_links import survey_scale
from plugin.feedback.surveys import FeedbackError, add_comment, record_score
from plugin.models import Customer, Shop, utcnow

bp = Blueprint("feedback", __name__)

COPY = {
    "es": {"thanks": "¡Gracias por tu respuesta!", "score": "Tu nota", "comment": "¿Quieres contarnos algo más?",
           "send": "Enviar", "saved": "Gracias, recibimos tu comentario.", "expired": "Este enlace venció.",
           "invalid": "Este enlace no es válido.", "choose": "Elige tu nota y confírmala:",
           "submit": "Enviar mi nota"},
    "en": {"thanks": "Thank you for your answer!", "score": "Your score", "comment": "Anything else to tell us?",
           "send": "Send", "saved": "Thanks, we got your comment.", "expired": "This link has expired.",
           "invalid": "This link is not valid.", "choose": "Pick your score and confirm it:",
           "submit": "Send my score"},
    "pt": {"thanks": "Obrigado pela sua resposta!", "score": "Sua nota", "comment": "Quer nos contar mais alguma coisa?",
           "send": "Enviar", "saved": "Obrigado, recebemos seu comentário.", "expired": "Este link expirou.",
           "invalid": "Este link não é válido.", "choose": "Escolha sua nota e confirme:",
           "submit": "Enviar minha nota"},
}


def _page(lang: str, shop_name: str, title: str, **kwargs):
    return landing_page(lang, COPY[lang], shop_name, title, **kwargs)


def _survey_token(secret_key: str, token: str):
    try:
        payload = read_token(secret_key, SURVEY, token, utcnow())
    except InvalidToken as exc:
        return None, _page("es", "", COPY["es"]["expired" if exc.expired else "invalid"],
                           status=410 if exc.expired else 404)
    return payload, None


def _lang(session: Session, shop: Shop, customer_id: int) -> str:
    customer = session.get(Customer, customer_id)
    return choose_locale(customer.locale if customer else None, shop.primary_locale)


def _survey_shop(session: Session, payload: dict) -> tuple[Shop, str]:
    """The link's shop (404 once it is gone) and the language to answer in."""
    shop = session.get(Shop, payload["s"])
    if shop is None:
        abort(404)
    return shop, _lang(session, shop, payload["c"])


@bp.get("/survey/<token>")
def survey_page(token: str):
    """The question, the clicked score preselected; records nothing."""
    app_state = state()
    payload, error = _survey_token(app_state.config.secret_key, token)
    if error:
        return error
    with app_state.db.transaction() as session:
        shop, lang = _survey_shop(session, payload)
        scale = survey_scale(payload["t"])
        chosen = request.args.get("score", type=int)
        return _page(lang, shop.name or "", shop.name or COPY[lang]["score"], action=request.path, scale=scale,
                     chosen=chosen if chosen in scale else None)


@bp.post("/survey/<token>")
def survey_answer(token: str):
    """The shopper's explicit answer: records (or updates) the score and an optional comment."""
    app_state = state()
    payload, error = _survey_token(app_state.config.secret_key, token)
    if error:
        return error
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
    """The optional comment after a score; 409 when there is no score to attach it to."""
    app_state = state()
    payload, error = _survey_token(app_state.config.secret_key, token)
    if error:
        return error
    with app_state.db.transaction() as session:
        shop, lang = _survey_shop(session, payload)
        if not add_comment(session, shop, payload, request.form.get("comment", "")):
            return _page(lang, shop.name or "", COPY[lang]["invalid"], status=409)
        return _page(lang, shop.name or "", COPY[lang]["saved"])
