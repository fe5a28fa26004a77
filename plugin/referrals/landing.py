"""A friend lands on /r/<code>: record the click (hashed), give them the friend discount.

Reading and writing happen in two short transactions with the Shopify call between them,
so no row lock is held while Shopify answers. The same hashed visitor (IP + user agent)
coming back within a day gets the same code instead of a fresh one; one IP gets at most
``CODES_PER_IP_PER_DAY`` codes from a shop and one advocate's link at most
``CODES_PER_ADVOCATE_PER_DAY``, so a script hammering a link cannot mint free discounts.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import func, select, text

from plugin.logs import get_logger
from plugin.loyalty.rules.rewards import discount_spec, generate_code
from plugin.loyalty.status import shop_program
from plugin.models import Customer, ReferralClick, Shop
from plugin.referrals.hashing import keyed_hash
from plugin.referrals.links import advocate_by_code
from plugin.shopify.discounts import create_discount_code
from plugin.shopify.errors import ShopifyError
from plugin.shops.tokens import ShopNotInstalled, admin_client

log = get_logger("referrals")
FRIEND_CODE_PREFIX = "AMIGO"
FRIEND_CODE_DAYS = 30
REUSE_WINDOW = timedelta(days=1)
CODES_PER_IP_PER_DAY = 3
CODES_PER_ADVOCATE_PER_DAY = 25
REF_PARAM = "embajador_ref"   # landing parameter; the theme copies it into this cart note attribute


@dataclass(frozen=True)
class Landing:
    """Where to send the friend; ``None`` means the referral code is unknown (404)."""

    location: str
    friend_code: str | None
    click_id: int


def land(app_state, code: str, ip: str | None, user_agent: str | None, now: datetime,
         issue_code: bool = True) -> Landing | None:
    """Record the click and return the redirect; Shopify failures degrade to the shop home.

    ``issue_code=False`` (link previews, HEAD) sends to the shop without spending a code.
    """
    secret = app_state.config.secret_key
    ip_hash, ua_hash = keyed_hash(secret, "ip", ip), keyed_hash(secret, "ua", user_agent)
    with app_state.db.transaction() as session:
        advocate = advocate_by_code(session, code)
        if advocate is None:
            return None
        _serialize_visitor(session, advocate, ip_hash)
        shop = session.get(Shop, advocate.shop_id)
        program = shop_program(shop)
        reused = _recent_code(session, advocate, ip_hash, now)
        capped = reused is None and _over_daily_caps(session, advocate, ip_hash, now)
        wants_new = reused is None and not capped and issue_code and shop.installed and program.referral is not None
        # A new code is reserved on the click before Shopify is asked, so parallel requests
        # from one visitor see it (reuse) and count it (caps) instead of each minting one.
        friend_code = reused or (generate_code(FRIEND_CODE_PREFIX, secrets.token_bytes(5)) if wants_new else None)
        click = ReferralClick(shop_id=shop.id, advocate_id=advocate.id, ip_hash=ip_hash, ua_hash=ua_hash,
                              friend_code=friend_code, created_at=now)
        session.add(click)
        session.flush()
        click_id = click.id
    if capped:
        log.warning("friend code not issued: daily cap reached", extra={"shop": shop.domain})
    if wants_new and not _create_friend_code(app_state, shop, program, friend_code, now):
        with app_state.db.transaction() as session:
            session.get(ReferralClick, click_id).friend_code = None
        friend_code = None
    return Landing(_shop_url(shop.domain, friend_code, advocate.referral_code), friend_code, click_id)


def _serialize_visitor(session, advocate, ip_hash) -> None:
    """One landing at a time per advocate and per visitor IP (row lock + advisory lock)."""
    session.execute(select(Customer.id).where(Customer.id == advocate.id).with_for_update())
    if ip_hash is not None and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                        {"key": f"referral-landing:{advocate.shop_id}:{ip_hash}"})


def _recent_code(session, advocate, ip_hash, now) -> str | None:
    """The code this visitor (by hashed IP: a new user agent is not a new visitor) already got."""
    if ip_hash is None:
        return None
    return session.execute(
        select(ReferralClick.friend_code)
        .where(ReferralClick.shop_id == advocate.shop_id, ReferralClick.advocate_id == advocate.id,
               ReferralClick.ip_hash == ip_hash,
               ReferralClick.friend_code.is_not(None), ReferralClick.created_at > now - REUSE_WINDOW)
        .order_by(ReferralClick.id.desc()).limit(1)).scalar_one_or_none()


def _over_daily_caps(session, advocate, ip_hash, now) -> bool:
    since = now - timedelta(days=1)
    issued = select(func.count(func.distinct(ReferralClick.friend_code))).where(
        ReferralClick.shop_id == advocate.shop_id, ReferralClick.friend_code.is_not(None),
        ReferralClick.created_at > since)
    if session.execute(issued.where(ReferralClick.advocate_id == advocate.id)).scalar_one() >= CODES_PER_ADVOCATE_PER_DAY:
        return True
    return ip_hash is not None and \
        session.execute(issued.where(ReferralClick.ip_hash == ip_hash)).scalar_one() >= CODES_PER_IP_PER_DAY


def _create_friend_code(app_state, shop: Shop, program, code: str, now: datetime) -> bool:
    """Create the reserved single-use code for anyone (the friend has no account yet)."""
    friend = program.referral.friend
    spec = discount_spec(friend, shop.currency, now, expires_in_days=FRIEND_CODE_DAYS)
    try:
        create_discount_code(admin_client(app_state, shop), title=f"Embajador referral {code}", code=code,
                             customer_gid=None, kind=spec.kind, amount=spec.amount, percentage=spec.percentage,
                             min_subtotal=spec.min_subtotal, starts_at=spec.starts_at, ends_at=spec.ends_at,
                             usage_limit=1, applies_once_per_customer=True)
    except (ShopifyError, ShopNotInstalled, ValueError) as exc:
        log.warning("friend code not created: %s", type(exc).__name__, extra={"shop": shop.domain})
        return False
    return True


def _shop_url(domain: str, friend_code: str | None, advocate_code: str) -> str:
    landing = f"/?{REF_PARAM}={advocate_code}"
    if friend_code is None:
        return f"https://{domain}{landing}"
    return f"https://{domain}/discount/{quote(friend_code)}?redirect={quote(landing, safe='')}"
