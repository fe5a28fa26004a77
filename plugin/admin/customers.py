"""What the merchant sees of a customer: search, and one page with balance, tier progress,
ledger, referrals, emails with their SendGrid events, and survey answers."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from plugin.customers.lookup import customer_by_reference, ledger_rows
from plugin.loyalty.status import customer_status
from plugin.models import Customer, EmailEvent, OutboxMessage, Referral, ReferralClick, Shop, SurveyResponse

SEARCH_LIMIT = 50


def customer_in_shop(session: Session, shop: Shop, shopify_id: str) -> Customer | None:
    """The shop's customer with this Shopify id (None for anything else, other shops included)."""
    return customer_by_reference(session, shop, shopify_id) if shopify_id.isdigit() else None


def _name(c: Customer) -> str | None:
    return " ".join(filter(None, (c.first_name, c.last_name))) or None


def _summary(c: Customer) -> dict:
    return {"id": c.shopify_id, "name": _name(c), "email": c.email, "tier": c.tier_name,
            "points": {"available": c.points_available, "pending": c.points_pending}}


def search_customers(session: Session, shop: Shop, q: str) -> list[dict]:
    """Customers whose email or name contains ``q`` (case-insensitive); newest first."""
    query = Customer.for_shop(shop.id).where(Customer.shopify_id.is_not(None), Customer.redacted_at.is_(None))
    words = q.strip().lower()
    if words:
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        full_name = func.lower(func.coalesce(Customer.first_name, "") + " " + func.coalesce(Customer.last_name, ""))
        query = query.where(or_(func.lower(Customer.email).like(pattern, escape="\\"),
                                full_name.like(pattern, escape="\\")))
    rows = session.execute(query.order_by(Customer.updated_at.desc(), Customer.id.desc()).limit(SEARCH_LIMIT))
    return [_summary(c) for c in rows.scalars()]


def customer_page(session: Session, shop: Shop, customer: Customer, now: datetime) -> dict:
    status = customer_status(session, shop, customer, now)
    progress = None
    if status.next_tier is not None:
        remaining = status.next_tier.remaining
        progress = (f"{status.progress_percent}% → {status.next_tier.name} "
                    f"({status.next_tier.metric}: {getattr(remaining, 'amount', remaining)} left)")
    return {**_summary(customer), "birthday": customer.birthday.isoformat() if customer.birthday else None,
            "progress": progress, "ledger": ledger_rows(session, customer, limit=200),
            "referrals": _referrals(session, shop, customer), "emails": _emails(session, shop, customer),
            "surveys": _surveys(session, shop, customer)}


def _referrals(session: Session, shop: Shop, customer: Customer) -> list[dict]:
    rows = session.execute(Referral.for_shop(shop.id).where(Referral.advocate_id == customer.id)
                           .order_by(Referral.id.desc()).limit(100)).scalars()
    return [{"id": r.id, "friend": r.email, "status": r.status, "points_awarded": r.points_awarded,
             "created_at": r.created_at.isoformat()} for r in rows]


def _emails(session: Session, shop: Shop, customer: Customer) -> list[dict]:
    messages = session.execute(OutboxMessage.for_shop(shop.id).where(OutboxMessage.customer_id == customer.id)
                               .order_by(OutboxMessage.id.desc()).limit(100)).scalars().all()
    events: dict[int, list[str]] = {}
    if messages:
        found = session.execute(select(EmailEvent.outbox_id, EmailEvent.event).where(
            EmailEvent.shop_id == shop.id, EmailEvent.outbox_id.in_([m.id for m in messages]))
            .order_by(EmailEvent.id))
        for outbox_id, event in found:
            events.setdefault(outbox_id, []).append(event)
    return [{"id": m.id, "flow": m.flow, "subject": m.subject, "status": m.status,
             "created_at": m.created_at.isoformat(), "events": events.get(m.id, [])} for m in messages]


def _surveys(session: Session, shop: Shop, customer: Customer) -> list[dict]:
    rows = session.execute(SurveyResponse.for_shop(shop.id).where(SurveyResponse.customer_id == customer.id)
                           .order_by(SurveyResponse.id.desc()).limit(100)).scalars()
    return [{"order_name": s.order_name, "survey_type": s.survey_type, "score": s.score, "comment": s.comment,
             "created_at": s.created_at.isoformat()} for s in rows]


def advocate_leaderboard(session: Session, shop: Shop, limit: int = 20) -> list[dict]:
    """Advocates by successful referrals, then clicks on their link."""
    successful = (select(Referral.advocate_id.label("cid"), func.count().label("n"),
                         func.sum(Referral.points_awarded).label("points"))
                  .where(Referral.shop_id == shop.id, Referral.status == "successful")
                  .group_by(Referral.advocate_id).subquery())
    clicks = (select(ReferralClick.advocate_id.label("cid"), func.count().label("n"))
              .where(ReferralClick.shop_id == shop.id).group_by(ReferralClick.advocate_id).subquery())
    rows = session.execute(
        select(Customer, func.coalesce(successful.c.n, 0), func.coalesce(clicks.c.n, 0),
               func.coalesce(successful.c.points, 0))
        .outerjoin(successful, successful.c.cid == Customer.id).outerjoin(clicks, clicks.c.cid == Customer.id)
        .where(Customer.shop_id == shop.id, or_(successful.c.n > 0, clicks.c.n > 0))
        .order_by(func.coalesce(successful.c.n, 0).desc(), func.coalesce(clicks.c.n, 0).desc(), Customer.id)
        .limit(limit)).all()
    return [{"rank": i + 1, "id": c.shopify_id, "name": _name(c) or c.email, "successful": int(n),
             "clicks": int(k), "points": int(p)} for i, (c, n, k, p) in enumerate(rows)]
