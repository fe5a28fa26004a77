"""The feedback loop: a survey score (one per order, later clicks update it), a comment,
complaint cases for low scores (merchant notified by email) and a referral invitation
for promoters. Called by the survey pages (plugin/feedback/survey_pages.py), the admin API and the CLI."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from emails.delivery.outbox import queue_email
from emails.delivery.settings import EmailSettings
from plugin.db import insert_ignoring_conflicts
from plugin.feedback.survey_links import survey_scale
from plugin.loyalty.balances import record_event
from plugin.models import Complaint, Customer, OutboxMessage, Shop, SurveyResponse
from plugin.models.feedback import ANSWERED, CLOSED, OPEN

# Below these a customer is unhappy (NPS detractor, CSAT 1–2, CES 1–3 "hard"); at or
# above the promoter line we invite them to refer friends.
DETRACTOR_MAX = {"nps": 6, "csat": 2, "ces": 3}
PROMOTER_MIN = {"nps": 9, "csat": 5, "ces": 6}


class FeedbackError(ValueError):
    """A score outside the scale, or a complaint transition that is not allowed."""


@dataclass(frozen=True)
class ScoreOutcome:
    response_id: int
    complaint_id: int | None
    referral_invited: bool


def record_score(session: Session, shop: Shop, token: dict, score: int, now: datetime,
                 app_url: str, default_from: str | None) -> ScoreOutcome:
    """Store (or update) the order's score; open a complaint or invite to refer."""
    kind = token["t"]
    if score not in survey_scale(kind):
        raise FeedbackError(f"score must be between {survey_scale(kind)[0]} and {survey_scale(kind)[-1]}")
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = insert(SurveyResponse).values(
        shop_id=shop.id, customer_id=token["c"], order_id=token["o"], order_name=token.get("n"),
        survey_type=kind, score=score, created_at=now, updated_at=now)
    stmt = values.on_conflict_do_update(index_elements=["shop_id", "order_id"],
                                      set_={"score": score, "updated_at": now}).returning(SurveyResponse.id)
    response_id = session.execute(stmt).scalar_one()
    customer = session.get(Customer, token["c"])
    complaint_id = None
    if score <= DETRACTOR_MAX[kind]:
        complaint_id = open_complaint(session, shop, customer, response_id, token, score, now, app_url,
                                      default_from)
    invited = score >= PROMOTER_MIN[kind] and customer is not None
    if invited:
        record_event(session, shop.id, customer.id, "referral_invite", f"referral_invite:survey:{token['o']}",
                     now, {"order_id": token["o"], "score": score})
    return ScoreOutcome(response_id, complaint_id, invited)


def open_complaint(session, shop, customer, response_id, token, score, now, app_url, default_from) -> int:
    """One case per order; the merchant gets a complaint_opened email the first time."""
    new_id = insert_ignoring_conflicts(session, Complaint, dict(
        shop_id=shop.id, customer_id=customer.id if customer else None, survey_response_id=response_id,
        order_id=token["o"], order_name=token.get("n"), score=score, status=OPEN, created_at=now),
        ["shop_id", "order_id"])
    if new_id is None:
        existing = session.execute(select(Complaint).where(
            Complaint.shop_id == shop.id, Complaint.order_id == token["o"])).scalar_one()
        if existing.status == OPEN:
            existing.score = score
        return existing.id
    notify_merchant(session, shop, customer, new_id, token, score, None, app_url, default_from)
    return new_id


def notify_merchant(session, shop, customer, complaint_id, token, score, comment, app_url, default_from) -> None:
    settings = EmailSettings.for_shop(shop, default_from)
    if not settings.merchant_email:
        return
    name = " ".join(filter(None, (customer.first_name, customer.last_name))) if customer else ""
    context = {"customer_name": name or (customer.email if customer else "?"),
               "customer_email": (customer.email if customer else "") or "",
               "survey_type": token["t"], "score": score, "order_name": token.get("n"),
               "comment": comment, "case_url": f"{app_url.rstrip('/')}/?complaint={complaint_id}"}
    outbox_id = queue_email(session, shop=shop, flow="complaint_opened", message_key=f"complaint_opened:{complaint_id}",
                            to_email=settings.merchant_email, locale=shop.primary_locale, context=context)
    if outbox_id is not None and customer is not None:
        session.get(OutboxMessage, outbox_id).about_customer_id = customer.id


def add_comment(session: Session, shop: Shop, token: dict, comment: str) -> bool:
    """Attach the shopper's comment to their response (and open case); False if no score yet."""
    response = session.execute(select(SurveyResponse).where(
        SurveyResponse.shop_id == shop.id, SurveyResponse.order_id == token["o"])).scalar_one_or_none()
    if response is None:
        return False
    response.comment = comment.strip()[:5000] or None
    complaint = session.execute(select(Complaint).where(
        Complaint.shop_id == shop.id, Complaint.order_id == token["o"])).scalar_one_or_none()
    if complaint is not None and complaint.status == OPEN:
        complaint.comment = response.comment
    return True


def answer_complaint(session: Session, shop_id: int, complaint_id: int, answer: str, now: datetime) -> Complaint:
    complaint = _complaint(session, shop_id, complaint_id)
    if complaint.status == CLOSED:
        raise FeedbackError("complaint is closed")
    if not answer.strip():
        raise FeedbackError("answer must not be empty")
    complaint.status, complaint.answer, complaint.answered_at = ANSWERED, answer.strip()[:5000], now
    return complaint


def close_complaint(session: Session, shop_id: int, complaint_id: int, now: datetime) -> Complaint:
    complaint = _complaint(session, shop_id, complaint_id)
    if complaint.status != CLOSED:
        complaint.status, complaint.closed_at = CLOSED, now
    return complaint


def _complaint(session: Session, shop_id: int, complaint_id: int) -> Complaint:
    complaint = session.execute(Complaint.for_shop(shop_id).where(Complaint.id == complaint_id)
                                .with_for_update()).scalar_one_or_none()
    if complaint is None:
        raise LookupError(f"complaint {complaint_id} not found")
    return complaint


def complaint_dict(c: Complaint) -> dict:
    return {"id": c.id, "order_id": c.order_id, "order_name": c.order_name, "score": c.score,
            "comment": c.comment, "status": c.status, "answer": c.answer,
            "created_at": c.created_at.isoformat(), "answered_at": c.answered_at and c.answered_at.isoformat(),
            "closed_at": c.closed_at and c.closed_at.isoformat()}
