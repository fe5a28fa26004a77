"""Signed one-click survey links for the feedback_request email."""
from __future__ import annotations

from datetime import datetime

from emails.content.context import SURVEY_SIZES
from emails.delivery.tokens import SURVEY, make_token
from plugin.app_state import state
from plugin.models import Customer, Shop


def survey_scale(survey_type: str) -> range:
    """NPS 0–10, CSAT 1–5, CES 1–7."""
    start = 0 if survey_type == "nps" else 1
    return range(start, start + SURVEY_SIZES[survey_type])


def survey_token(secret: str, shop: Shop, customer: Customer, order_id: str, order_name: str,
                 survey_type: str, expires_at: datetime) -> str:
    return make_token(secret, SURVEY, {"s": shop.id, "c": customer.id, "o": order_id, "n": order_name,
                                       "t": survey_type}, expires_at)


def survey_urls(shop: Shop, customer: Customer, order_id: str, order_name: str, survey_type: str,
                expires_at: datetime) -> list[str]:
    config = state().config
    token = survey_token(config.secret_key, shop, customer, order_id, order_name, survey_type, expires_at)
    base = f"{config.app_url.rstrip('/')}/survey/{token}"
    return [f"{base}?score={n}" for n in survey_scale(survey_type)]
