"""Connecting a review app, checking what it sends, and paying the review action.

- Judge.me signs each webhook: ``JUDGEME-HMAC-SHA256`` = hex HMAC-SHA256 of the raw body with
  the shop's private API token (or the OAuth app's secret, for webhooks an OAuth app created):
  https://judge.me/help/en/articles/8299679-verifying-webhooks-from-judge-me. We need that
  secret to recompute the HMAC, so it is stored encrypted (ENCRYPTION_KEY), never in clear.
- Yotpo's public review-webhook docs describe no signature
  (https://apidocs.yotpo.com/reference/about-webhooks). Its webhook URL therefore carries a
  256-bit token we generate, show once and store as SHA-256 only; the request is accepted when
  the token matches, in constant time.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from plugin.customers.profiles import find_customer
from plugin.loyalty.custom_actions import award_custom_action
from plugin.loyalty.status import shop_program
from plugin.models import ReviewIntegration, Shop
from plugin.reviews.payloads import ReviewFact

PROVIDERS = ("judgeme", "yotpo")
MAX_SECRET = 200


class IntegrationError(ValueError):
    pass


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def _row(session: Session, shop: Shop, provider: str) -> ReviewIntegration | None:
    return session.execute(ReviewIntegration.for_shop(shop.id).where(
        ReviewIntegration.provider == provider)).scalar_one_or_none()


def connect_judgeme(session: Session, shop: Shop, secret: str, cipher, actor: str, now: datetime) -> None:
    """Store (or replace) the secret Judge.me signs this shop's webhooks with."""
    secret = (secret or "").strip()
    if not 8 <= len(secret) <= MAX_SECRET:
        raise IntegrationError("secret: paste Judge.me's private API token (Settings → Integrations → API)")
    row = _row(session, shop, "judgeme") or ReviewIntegration(shop_id=shop.id, provider="judgeme", created_at=now)
    row.secret_enc, row.token_sha256, row.created_by = cipher.encrypt(secret), None, actor[:64]
    session.add(row)


def connect_yotpo(session: Session, shop: Shop, actor: str, now: datetime) -> str:
    """A new URL token for Yotpo (replacing any previous one); returned once."""
    token = secrets.token_urlsafe(32)
    row = _row(session, shop, "yotpo") or ReviewIntegration(shop_id=shop.id, provider="yotpo", created_at=now)
    row.secret_enc, row.token_sha256, row.created_by = None, _sha256(token), actor[:64]
    session.add(row)
    return token


def disconnect(session: Session, shop: Shop, provider: str) -> bool:
    row = _row(session, shop, provider)
    if row is not None:
        session.delete(row)
    return row is not None


def list_integrations(session: Session, shop: Shop) -> list[dict]:
    rows = session.execute(ReviewIntegration.for_shop(shop.id).order_by(ReviewIntegration.provider)).scalars()
    return [{"provider": r.provider, "created_at": r.created_at.isoformat(),
             "last_event_at": r.last_event_at.isoformat() if r.last_event_at else None} for r in rows]


def judgeme_signed(session: Session, shop: Shop, body: bytes, signature: str | None, cipher) -> ReviewIntegration | None:
    """The shop's Judge.me integration when ``signature`` is the body's HMAC under its secret."""
    row = _row(session, shop, "judgeme")
    if row is None or row.secret_enc is None or not signature:
        return None
    expected = hmac.new(cipher.decrypt(row.secret_enc).encode(), body, hashlib.sha256).hexdigest()
    given = signature.strip().lower().encode("utf-8", "replace")  # a header may carry any Latin-1 text
    return row if hmac.compare_digest(expected.encode(), given) else None


def yotpo_token_valid(session: Session, shop: Shop, token: str) -> ReviewIntegration | None:
    row = _row(session, shop, "yotpo")
    if row is None or row.token_sha256 is None:
        return None
    return row if hmac.compare_digest(row.token_sha256, _sha256(token)) else None


@dataclass(frozen=True)
class ReviewAward:
    status: str  # awarded | duplicate | limit | cooldown | no_action | unknown_customer
    action_id: str | None = None
    points: int = 0


def award_review(session: Session, shop: Shop, fact: ReviewFact, now: datetime) -> ReviewAward:
    """``photo_review`` for a review with photos when the program has it, else ``review``;
    once per review (the ledger key carries the provider's review id)."""
    actions = shop_program(shop).actions
    action = (actions.custom_action("photo_review") if fact.with_photos else None) or actions.custom_action("review")
    if action is None:
        return ReviewAward("no_action")
    customer = find_customer(session, shop, email=fact.email) if fact.email else None
    if customer is None or customer.redacted_at is not None:
        return ReviewAward("unknown_customer", action.id)
    award = award_custom_action(session, shop, customer, action.id, f"{fact.provider}-{fact.review_id}", now,
                                f"review:{fact.provider}")
    return ReviewAward(award.status, action.id, award.points)
