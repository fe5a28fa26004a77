"""The merchant's review queue: list referrals, approve (awards once) or reject held ones.

Shared by the CLI and the admin API so both apply the same rules in one transaction.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.loyalty.status import shop_program
from plugin.models import Customer, Referral, Shop
from plugin.models.referrals import HELD, PENDING, REFERRAL_STATUSES, REJECTED, SUCCESSFUL
from plugin.referrals.advocate_rewards import award_advocate, take_back_pending


class ReviewError(ValueError):
    """A review action that does not apply (unknown id, wrong status); the message says why."""


def list_referrals(session: Session, shop: Shop, status: str | None = None, limit: int = 200) -> list[dict]:
    if status is not None and status not in REFERRAL_STATUSES:
        raise ReviewError(f"status must be one of {', '.join(REFERRAL_STATUSES)}")
    query = Referral.for_shop(shop.id).order_by(Referral.id.desc()).limit(limit)
    if status:
        query = query.where(Referral.status == status)
    rows = session.execute(query).scalars().all()
    names = _names(session, {r.advocate_id for r in rows} | {r.customer_id for r in rows if r.customer_id})
    return [describe(r, names) for r in rows]


def describe(referral: Referral, names: dict[int, str] | None = None, session: Session | None = None) -> dict:
    if names is None:
        names = _names(session, {referral.advocate_id, referral.customer_id} - {None}) if session else {}
    return {"id": referral.id, "status": referral.status, "advocate_id": referral.advocate_id,
            "advocate": names.get(referral.advocate_id), "friend": names.get(referral.customer_id),
            "friend_email": referral.email, "friend_order_id": referral.friend_order_id,
            "discount_code": referral.discount_code, "hold_reasons": referral.hold_reasons,
            "points_awarded": referral.points_awarded, "reviewed_by": referral.reviewed_by,
            "reviewed_at": referral.reviewed_at.isoformat() if referral.reviewed_at else None,
            "review_note": referral.review_note, "created_at": referral.created_at.isoformat()}


def approve(session: Session, shop: Shop, referral_id: int, reviewer: str, now: datetime) -> dict:
    """Held/pending → successful with the advocate's points; approving twice awards once."""
    referral = _locked(session, shop, referral_id)
    if referral.status == SUCCESSFUL:
        return describe(referral, session=session)
    if referral.status not in (HELD, PENDING):
        raise ReviewError(f"referral {referral_id} is {referral.status}; only held referrals can be approved")
    referral.status = SUCCESSFUL
    _mark(referral, reviewer, now, None)
    award_advocate(session, shop, shop_program(shop), referral, now, source=f"admin:{reviewer}"[:64])
    return describe(referral, session=session)


def reject(session: Session, shop: Shop, referral_id: int, reviewer: str, reason: str, now: datetime) -> dict:
    """Held/pending (or a still-pending reward) → rejected; no points, or the pending ones taken back."""
    if not reason or not reason.strip():
        raise ReviewError("a reason is required to reject a referral")
    referral = _locked(session, shop, referral_id)
    if referral.status == REJECTED:
        return describe(referral, session=session)
    if referral.status == SUCCESSFUL:
        if take_back_pending(session, referral, now, source=f"admin:{reviewer}"[:64]) is None:
            raise ReviewError(f"referral {referral_id} was rewarded and its pending window is over")
    elif referral.status not in (HELD, PENDING):
        raise ReviewError(f"referral {referral_id} is {referral.status}; it cannot be rejected")
    referral.status = REJECTED
    _mark(referral, reviewer, now, reason.strip())
    return describe(referral, session=session)


def _locked(session: Session, shop: Shop, referral_id: int) -> Referral:
    referral = session.execute(Referral.for_shop(shop.id).where(Referral.id == referral_id)
                               .with_for_update()).scalar_one_or_none()
    if referral is None:
        raise ReviewError(f"no referral {referral_id} in {shop.domain}")
    return referral


def _mark(referral: Referral, reviewer: str, now: datetime, note: str | None) -> None:
    referral.reviewed_by, referral.reviewed_at, referral.review_note = reviewer[:128], now, note


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(Customer.id, Customer.first_name, Customer.last_name).where(Customer.id.in_(ids)))
    return {i: " ".join(part for part in (first, last) if part) or f"#{i}" for i, first, last in rows}
