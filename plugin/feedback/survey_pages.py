"""The survey pages a feedback_request email links to. The link (GET /survey/<token>?score=n)
only shows the question with that score preselected: mail scanners fetch every link in a
message (some run scripts), so nothing is recorded until the shopper presses the button
(POST /survey/<token>, score and optional comment); a comment can follow
(POST /survey/<token>/comment). No login: each link is authenticated by its signed token."""
from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Blueprint, abort, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
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
    customer = session.execute(Customer.for_shop(shop.id).where(Customer.id == customer_id)).scalar_one_or_none()
    return choose_locale(customer.locale if customer else None, shop.primary_locale)


def _belongs_to_another_shop(session: Session, shop: Shop, customer_id) -> bool:
    """A link whose customer is another shop's (never minted by us; a mixed-up or forged
    payload) must not record a score, open a case or email a merchant about that customer."""
    owner = session.execute(select(Customer.shop_id).where(Customer.id == customer_id)).scalar_one_or_none() \
        if isinstance(customer_id, int) else None
    return owner is not None and owner != shop.id


def _survey_view(view: Callable[..., ResponseReturnValue]) -> Callable[[str], ResponseReturnValue]:
    """Resolve the link's token, shop (404 once it is gone) and language, then run ``view``
    inside one transaction; a bad or expired token answers the error page instead."""
    @functools.wraps(view)
    def wrapper(token: str) -> ResponseReturnValue:
        app_state = state()
        payload, error = _survey_token(app_state.config.secret_key, token)
        if error:
            return error
        with app_state.db.transaction() as session:
            shop = session.get(Shop, payload["s"])
            if shop is None:
                abort(404)
            if _belongs_to_another_shop(session, shop, payload.get("c")):
                lang = choose_locale(None, shop.primary_locale)
                return _page(lang, shop.name or "", COPY[lang]["invalid"], status=404)
            return view(token, session, payload, shop, _lang(session, shop, payload["c"]))
    return wrapper


@bp.get("/survey/<token>")
@_survey_view
def survey_page(token: str, session: Session, payload: dict, shop: Shop, lang: str) -> ResponseReturnValue:
    """The question, the clicked score preselected; records nothing."""
    scale = survey_scale(payload["t"])
    chosen = request.args.get("score", type=int)
    return _page(lang, shop.name or "", shop.name or COPY[lang]["score"], action=request.path, scale=scale,
                 chosen=chosen if chosen in scale else None)


@bp.post("/survey/<token>")
@_survey_view
def survey_answer(token: str, session: Session, payload: dict, shop: Shop, lang: str) -> ResponseReturnValue:
    """The shopper's explicit answer: records (or updates) the score and an optional comment."""
    score = request.form.get("score", type=int)
    if score is None:
        return _page(lang, shop.name or "", COPY[lang]["invalid"], status=400)
    config = state().config
    try:
        record_score(session, shop, payload, score, utcnow(), config.app_url, config.sendgrid_from_email)
    except FeedbackError:
        return _page(lang, shop.name or "", COPY[lang]["invalid"], status=400)
    comment = request.form.get("comment", "").strip()
    if comment:
        add_comment(session, shop, payload, comment)
        return _page(lang, shop.name or "", COPY[lang]["saved"])
    return _page(lang, shop.name or "", COPY[lang]["thanks"], score=score, action=f"/survey/{token}/comment")


@bp.post("/survey/<token>/comment")
@_survey_view
def survey_comment(token: str, session: Session, payload: dict, shop: Shop, lang: str) -> ResponseReturnValue:
    """The optional comment after a score; 409 when there is no score to attach it to."""
    if not add_comment(session, shop, payload, request.form.get("comment", "")):
        return _page(lang, shop.name or "", COPY[lang]["invalid"], status=409)
    return _page(lang, shop.name or "", COPY[lang]["saved"])
