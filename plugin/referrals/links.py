"""Every customer's stable, unguessable referral code and the link they share.

The code is made on first use: 11 symbols of an alphabet without 0/O/1/I (55 bits), so
links cannot be enumerated and survive being read aloud. Set with a conditional UPDATE so
two concurrent first uses agree on one code.
"""
from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plugin.loyalty.rules.rewards import generate_code
from plugin.models import Customer, Referral, Shop

CODE_BYTES = 7          # 56 random bits -> 11 symbols
MAX_ATTEMPTS = 5


def new_referral_code() -> str:
    return generate_code("", secrets.token_bytes(CODE_BYTES))


def ensure_referral_code(session: Session, customer: Customer) -> str:
    """The customer's code, creating it once (a collision just draws again)."""
    for _ in range(MAX_ATTEMPTS):
        if customer.referral_code:
            return customer.referral_code
        try:
            with session.begin_nested():
                session.execute(update(Customer).where(Customer.id == customer.id, Customer.referral_code.is_(None))
                                .values(referral_code=new_referral_code()).execution_options(synchronize_session=False))
        except IntegrityError:
            continue
        customer.referral_code = session.execute(select(Customer.referral_code)
                                                 .where(Customer.id == customer.id)).scalar_one()
    raise RuntimeError("could not allocate a unique referral code")


def referral_link(session: Session, shop: Shop, customer: Customer, app_url: str,
                  counts: dict | None = None) -> dict:
    """``{"code", "url", "counts"}`` for the storefront widget and emails (CONTRACT: GET /r/<code>).

    ``counts`` are the shopper's own referrals: ``successful`` and ``pending`` (awaiting payment or
    the merchant's review — a shopper is not told a referral looks suspicious); read here unless
    the caller already has them (the storefront reads them with the customer row).
    """
    code = ensure_referral_code(session, customer)
    return {"code": code, "url": f"{app_url.rstrip('/')}/r/{code}",
            "counts": counts if counts is not None else referral_counts(session, shop, customer)}


def referral_counts(session: Session, shop: Shop, customer: Customer) -> dict:
    rows = session.execute(select(Referral.status, func.count()).where(
        Referral.shop_id == shop.id, Referral.advocate_id == customer.id).group_by(Referral.status)).all()
    by_status: dict[str, int] = {status: count for status, count in rows}
    return {"successful": by_status.get("successful", 0),
            "pending": by_status.get("pending", 0) + by_status.get("held", 0)}


def advocate_by_code(session: Session, code: str) -> Customer | None:
    """The advocate behind a link; codes are global, so the shop comes from the customer."""
    code = (code or "").strip().upper()
    if not re.fullmatch(r"[A-Z0-9]{4,32}", code):
        return None
    return session.execute(select(Customer).where(Customer.referral_code == code,
                                                  Customer.redacted_at.is_(None))).scalar_one_or_none()
