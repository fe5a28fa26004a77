"""Tick task: win back customers who stopped buying.

A customer is *lapsed* when their last order (the latest of loyalty_orders and ``earn``
ledger entries: an order we saw, or one we awarded points for at its purchase time) is
more than ``win_back_days`` (shop email setting, default 90) before ``now``; they must
have ordered at least once, accept email marketing (``SUBSCRIBED``), have an email
address and a Shopify id (the code is bound to them) and not be redacted.

One offer per inactivity period: a ``WinBackOffer`` row keyed by (customer, last order
time). It is inserted with its code already chosen (``INSERT … ON CONFLICT DO NOTHING``),
before Shopify is asked, so:

1. a tick running twice finds the offer and opens nothing new;
2. the Shopify call runs outside any transaction with the stored code; if Shopify fails
   (outage, refusal) the error and attempt are recorded and the next tick retries with
   the same code, with backoff (1, 2, 4… minutes), giving up after MAX_ATTEMPTS;
3. if our earlier attempt did create the code but we crashed before recording it, the
   retry gets ``TAKEN`` for our own random code: that means created, never a second code;
4. once created, the same transaction marks the offer and queues the ``win_back`` email
   (message key ``win_back:<customer id>:<last order date>``): consent and the frequency
   cap apply there and again at send time, like every marketing flow.

The code is single-use (``usageLimit: 1``), bound to the customer, worth the shop's
``win_back_discount_type``/``win_back_discount_value`` (default 10 %) and valid for
``win_back_code_days`` (default 14) from the offer.
"""
from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, func, select, union_all

from emails.content.formatting import Discount
from emails.delivery.outbox import queue_email
from emails.delivery.settings import EmailSettings
from plugin.db import insert_ignoring_conflicts, lock_row
from plugin.logs import get_logger
from plugin.loyalty.rules.program import Discount as ProgramDiscount
from plugin.loyalty.rules.rewards import discount_spec, generate_code
from plugin.models import Customer, LedgerEntry, LoyaltyOrder, Shop
from plugin.models.email import WIN_BACK_CREATED, WIN_BACK_FAILED, WIN_BACK_PENDING, WinBackOffer
from plugin.shopify.discounts import create_discount_code
from plugin.shopify.errors import ShopifyUserError
from plugin.shops.tokens import admin_client

log = get_logger("plugin.feedback.win_back")
NEW_OFFERS_PER_TICK = 1000
MAX_ATTEMPTS = 8
RETRY_BASE = timedelta(minutes=1)
WIN_BACK_CANCELLED = "cancelled"  # consent withdrawn (or redacted) before the code existed


def send_win_backs(app_state, now: datetime) -> dict:
    """Open offers for newly lapsed customers, then create codes and queue emails."""
    opened = open_offers(app_state, now)
    outcomes: dict[str, int] = {}
    with app_state.db.transaction() as session:
        due = session.execute(select(WinBackOffer.id).where(
            WinBackOffer.status == WIN_BACK_PENDING, WinBackOffer.next_attempt_at <= now)
            .order_by(WinBackOffer.id).limit(NEW_OFFERS_PER_TICK)).scalars().all()
    for offer_id in due:
        outcome = issue_offer(app_state, offer_id, now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {"opened": opened, **outcomes}


def lapsed_customers(session, shop: Shop, cutoff: datetime, limit: int) -> list[tuple[int, datetime]]:
    """(customer id, last order time) of lapsed, subscribed customers without an offer for
    this inactivity period."""
    orders = union_all(
        select(LoyaltyOrder.customer_id.label("customer_id"), LoyaltyOrder.created_at.label("at"))
        .where(LoyaltyOrder.shop_id == shop.id, LoyaltyOrder.customer_id.is_not(None)),
        select(LedgerEntry.customer_id, LedgerEntry.occurred_at)
        .where(LedgerEntry.shop_id == shop.id, LedgerEntry.kind == "earn")).subquery()
    last = (select(orders.c.customer_id, func.max(orders.c.at).label("last_order_at"))
            .group_by(orders.c.customer_id).subquery())
    offered = exists().where(WinBackOffer.shop_id == shop.id, WinBackOffer.customer_id == last.c.customer_id,
                             WinBackOffer.last_order_at >= last.c.last_order_at)
    rows = session.execute(
        select(Customer.id, last.c.last_order_at).join(last, last.c.customer_id == Customer.id)
        .where(Customer.shop_id == shop.id, Customer.marketing_state == "SUBSCRIBED",
               Customer.redacted_at.is_(None), Customer.email.is_not(None), Customer.shopify_id.is_not(None),
               last.c.last_order_at < cutoff, ~offered)
        .order_by(Customer.id).limit(limit)).all()
    return [(cid, at if at.tzinfo else at.replace(tzinfo=UTC)) for cid, at in rows]


def open_offers(app_state, now: datetime) -> int:
    opened = 0
    with app_state.db.transaction() as session:
        shops = session.execute(select(Shop).where(Shop.installed.is_(True)).order_by(Shop.id)).scalars().all()
        for shop in shops:
            settings = EmailSettings.for_shop(shop, app_state.config.sendgrid_from_email)
            # A switched-off win_back flow (admin Emails page) opens no offer: no code in Shopify.
            if settings.win_back_days <= 0 or not settings.flow_enabled("win_back") or opened >= NEW_OFFERS_PER_TICK:
                continue
            cutoff = now - timedelta(days=settings.win_back_days)
            for customer_id, last_order_at in lapsed_customers(session, shop, cutoff, NEW_OFFERS_PER_TICK - opened):
                new_id = insert_ignoring_conflicts(session, WinBackOffer, dict(
                    shop_id=shop.id, customer_id=customer_id, last_order_at=last_order_at,
                    code=generate_code("BACK", secrets.token_bytes(10)), status=WIN_BACK_PENDING,
                    next_attempt_at=now, created_at=now), ["shop_id", "customer_id", "last_order_at"])
                opened += new_id is not None
    return opened


def _discounts(settings: EmailSettings, currency: str, starts: datetime):
    """(what Shopify creates, what the email shows)."""
    kind = settings.win_back_discount_type
    spec = discount_spec(ProgramDiscount(kind, settings.win_back_discount_value), currency, starts,
                         expires_in_days=settings.win_back_code_days)
    shown = Discount(kind, settings.win_back_discount_value, currency if kind == "fixed_amount" else None)
    return spec, shown


def issue_offer(app_state, offer_id: int, now: datetime) -> str:
    """Create the offer's code in Shopify (once) and queue its email."""
    with app_state.db.transaction() as session:
        offer = lock_row(session, WinBackOffer, offer_id)
        if offer is None or offer.status != WIN_BACK_PENDING or offer.next_attempt_at > now:
            return "skipped"
        shop = session.get(Shop, offer.shop_id)
        customer = session.get(Customer, offer.customer_id)
        if customer.redacted_at is not None or customer.marketing_state != "SUBSCRIBED" or not shop.installed:
            offer.status, offer.error = WIN_BACK_CANCELLED, "no_consent"
            return WIN_BACK_CANCELLED
        settings = EmailSettings.for_shop(shop, app_state.config.sendgrid_from_email)
        spec, _shown = _discounts(settings, shop.currency, offer.created_at)
        offer.attempts, offer.expires_at = offer.attempts + 1, spec.ends_at
        code, customer_gid = offer.code, customer.shopify_id
    try:
        result = create_discount_code(
            admin_client(app_state, shop), title=f"Embajador win-back {code}", code=code,
            customer_gid=customer_gid, kind=spec.kind, amount=spec.amount, percentage=spec.percentage,
            starts_at=spec.starts_at, ends_at=spec.ends_at, usage_limit=1)
        gid = result.node_gid
    except ShopifyUserError as exc:
        if "TAKEN" not in exc.codes:
            return _record_failure(app_state, offer_id, exc, now)
        gid = None  # our own random code already exists: an earlier attempt created it
    except Exception as exc:  # noqa: BLE001 - outage, throttling, token: retried next tick
        return _record_failure(app_state, offer_id, exc, now)
    return _record_created(app_state, offer_id, gid, now)


def _record_failure(app_state, offer_id: int, exc: Exception, now: datetime) -> str:
    with app_state.db.transaction() as session:
        offer = lock_row(session, WinBackOffer, offer_id)
        offer.error = f"{type(exc).__name__}: {exc}"[:1000]
        if offer.attempts >= MAX_ATTEMPTS:
            offer.status = WIN_BACK_FAILED
        else:
            offer.next_attempt_at = now + RETRY_BASE * (2 ** (offer.attempts - 1))
        log.warning("win-back code not created", extra={"status": offer.status})
        return "retry" if offer.status == WIN_BACK_PENDING else WIN_BACK_FAILED


def _record_created(app_state, offer_id: int, gid: str | None, now: datetime) -> str:
    with app_state.db.transaction() as session:
        offer = lock_row(session, WinBackOffer, offer_id)
        if offer.status != WIN_BACK_PENDING:
            return "skipped"
        shop = session.get(Shop, offer.shop_id)
        customer = session.get(Customer, offer.customer_id)
        settings = EmailSettings.for_shop(shop, app_state.config.sendgrid_from_email)
        _spec, shown = _discounts(settings, shop.currency, offer.created_at)
        offer.status, offer.discount_gid, offer.error = WIN_BACK_CREATED, gid, None
        offer.outbox_id = queue_email(
            session, shop=shop, flow="win_back", customer=customer, to_email=customer.email,
            message_key=f"win_back:{customer.id}:{offer.last_order_at.date().isoformat()}",
            context={"discount_code": offer.code, "discount": shown,
                     "code_expires_on": offer.expires_at.date() if offer.expires_at else None}, now=now)
        return WIN_BACK_CREATED
