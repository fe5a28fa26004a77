"""The unsubscribe link of marketing emails: the URL we put in each message and the
page it opens (GET asks, POST withdraws marketing consent). Authenticated by its signed token."""
from __future__ import annotations

from flask import Blueprint, abort, request
from sqlalchemy.orm import Session

from emails.content.landing_page import landing_page
from emails.content.locale import choose_locale
from emails.delivery.events import enqueue_consent_push, unsubscribe
from emails.delivery.tokens import UNSUBSCRIBE, InvalidToken, make_token, read_token
from plugin.app_state import state
from plugin.models import Customer, Shop, utcnow

bp = Blueprint("unsubscribe", __name__)

COPY = {
    "es": {"invalid": "Este enlace no es válido.", "unsubscribed": "Ya no recibirás correos de marketing.",
           "confirm": "¿Dejar de recibir correos de marketing?", "leave": "Darme de baja"},
    "en": {"invalid": "This link is not valid.", "unsubscribed": "You will no longer receive marketing emails.",
           "confirm": "Stop receiving marketing emails?", "leave": "Unsubscribe"},
    "pt": {"invalid": "Este link não é válido.", "unsubscribed": "Você não receberá mais e-mails de marketing.",
           "confirm": "Deixar de receber e-mails de marketing?", "leave": "Cancelar inscrição"},
}


def unsubscribe_url(secret_key: str, app_url: str, shop: Shop, customer: Customer) -> str:
    """The signed link that withdraws this customer's marketing consent."""
    token = make_token(secret_key, UNSUBSCRIBE, {"s": shop.id, "c": customer.id})
    return f"{app_url.rstrip('/')}/emails/unsubscribe/{token}"


def _lang(session: Session, shop: Shop, customer_id: int) -> str:
    """The customer's language, read only from this shop's customers (a link naming another
    shop's customer changes nothing there either: ``unsubscribe`` is scoped by shop)."""
    customer = session.execute(Customer.for_shop(shop.id).where(Customer.id == customer_id)).scalar_one_or_none()
    return choose_locale(customer.locale if customer else None, shop.primary_locale)


@bp.route("/emails/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe_link(token: str):
    """Link in marketing emails (GET asks, so mail scanners that prefetch links change nothing)
    and RFC 8058 one-click POST (withdraws marketing consent)."""
    app_state = state()
    try:
        payload = read_token(app_state.config.secret_key, UNSUBSCRIBE, token, utcnow())
    except InvalidToken:
        return landing_page("es", COPY["es"], "", COPY["es"]["invalid"], status=404)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, payload["s"])
        if shop is None:
            abort(404)
        lang = _lang(session, shop, payload["c"])
        if request.method == "GET":
            return landing_page(lang, COPY[lang], shop.name or "", COPY[lang]["confirm"], action=request.path,
                                confirm=True)
        unsubscribe(session, shop.id, payload["c"], None)
        page = landing_page(lang, COPY[lang], shop.name or "", COPY[lang]["unsubscribed"])
    enqueue_consent_push(app_state.queue, payload["s"], utcnow())  # after commit; the tick catches a miss
    return page
