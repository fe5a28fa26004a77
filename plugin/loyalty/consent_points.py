"""Consent from any source, and the program's ``marketing_consent`` points when it subscribes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from plugin.customers.consent import ConsentFact, record_consent
from plugin.loyalty.actions import award_marketing_consent_points
from plugin.models import Customer, Shop


def record_consent_and_reward(session: Session, shop: Shop, customer: Customer, fact: ConsentFact,
                              now: datetime, source: str) -> dict:
    """Apply the consent statement; pay the consent points once per customer ever when it subscribes."""
    outcome = record_consent(session, shop, customer, fact, now)
    if outcome.get("subscribed"):
        outcome["consent_points"] = award_marketing_consent_points(session, shop, customer, now, source)
    return outcome
