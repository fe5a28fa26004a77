"""The survey pages a feedback_request email links to: one click records the score
(GET /survey/<token>?score=n), then an optional comment (POST /survey/<token>/comment).
No login: each link is authenticated by its signed token."""
from __future__ import annotations

from flask import Blueprint, abort, request
from sqlalchemy.orm import Session

from emails.content.landing_page import landing_page
from emails.content.locale import choose_locale
from emails.delivery.tokens import SURVEY, InvalidToken, read_token
from plugin.app_state import state
from plugin.feedback.surveys import FeedbackError, add_comment, record_score
from plugin.models import Customer, Shop, utcnow

bp = Blueprint("feedback", __name__)

COPY = {
    "es": {"thanks": "¡Gracias por tu respuesta!", "score": "Tu nota", "comment": "¿Quieres contarnos algo más?",
           "send": "Enviar", "saved": "Gracias, recibimos tu comentario.", "expired": "Este enlace venció.",
           "invalid": "Este enlace no es válido."},
    "en": {"thanks": "Thank you for your answer!", "score": "Your score", "comment": "Anything else to tell us?",
           "send": "Send", "saved": "Thanks, we got your comment.", "expired": "This link has expired.",
           "invalid": "This link is not valid."},
    "pt": {"thanks": "Obrigado pela sua resposta!", "score": "Sua nota", "comment": "Quer nos contar mais alguma coisa?",
           "send": "Enviar", "saved": "Obrigado, recebemos seu comentário.", "expired": "Este link expirou.",
           "invalid": "Este link não é válido."},
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


@bp.get("/survey/<token>")
def survey_score(token: str):
    """One click from the email records the score (updates it on a later click)."""
    app_state = state()
    payload, error = _survey_token(app_state.config.secret_key, token)
    if error:
        return error
    score = request.args.get("score", type=int)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, payload["s"])
        if shop is None:
            abort(404)
        lang = _lang(session, shop, payload["c"])
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
    """The optional comment after a score; 409 when there is no score to attach it to."""
    app_state = state()
    payload, error = _survey_token(app_state.config.secret_key, token)
    if error:
        return error
    with app_state.db.transaction() as session:
        shop = session.get(Shop, payload["s"])
        if shop is None:
            abort(404)
        lang = _lang(session, shop, payload["c"])
        if not add_comment(session, shop, payload, request.form.get("comment", "")):
            return _page(lang, shop.name or "", COPY[lang]["invalid"], status=409)
        return _page(lang, shop.name or "", COPY[lang]["saved"])
