"""Spending points on a reward code, exactly once even under concurrent clicks.

1. Transaction 1, under the customer row lock: check the balance, create the Redemption
   (``reserved``) and its ``redeem`` entry. Fifty parallel requests serialise on the lock;
   only those the balance still covers get past it.
2. No transaction open: ask Shopify for the single-use, customer-bound code.
3. Transaction 2: ``issued`` with the discount gid, or — if Shopify refused — a
   ``redeem_refund`` entry puts the points back and the error is kept on the row.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from plugin.loyalty.balances import lock_customer
from plugin.loyalty.posting import post
from plugin.loyalty.rules.ledger import Balance, Entry, InsufficientPoints, redeem_entry, redeem_refund_key
from plugin.loyalty.rules.rewards import discount_spec, generate_code
from plugin.loyalty.status import shop_program
from plugin.models import Customer, Redemption, Shop
from plugin.models.rewards import FAILED, ISSUED, REFUNDED, RESERVED
from plugin.outbound.outbox import emit_reward_redeemed
from plugin.shopify.discounts import create_discount_code, find_discount_code
from plugin.shopify.errors import ShopifyError
from plugin.shops.tokens import ShopNotInstalled, admin_client


class UnknownReward(LookupError):
    pass


class ShopifyRefused(RuntimeError):
    """Shopify did not create the code; the points were given back."""


@dataclass(frozen=True)
class IssuedCode:
    redemption_id: int
    code: str
    reward_id: str
    cost: int
    expires_at: datetime | None
    points_available: int


def reserve(session, shop: Shop, customer_id: int, reward_id: str, now: datetime) -> Redemption:
    """Transaction 1: lock, check, reserve (raises UnknownReward / InsufficientPoints)."""
    program = shop_program(shop)
    reward = next((r for r in program.rewards if r.id == reward_id), None)
    if reward is None:
        raise UnknownReward(reward_id)
    customer = lock_customer(session, customer_id)
    balance = Balance(customer.points_available, customer.points_pending)
    if reward.cost > balance.available:
        raise InsufficientPoints(reward.cost, balance.available)
    prefix = (shop.name or "EMB").split()[0][:8] if shop.name else "EMB"
    redemption = Redemption(shop_id=shop.id, customer_id=customer.id, reward_id=reward.id, reward_name=reward.name,
                            cost=reward.cost, status=RESERVED, code=generate_code(prefix, secrets.token_bytes(10)))
    session.add(redemption)
    session.flush()
    post(session, program, customer, redeem_entry(redemption.id, reward.cost, balance),
         reason=f"reward {reward.name}", source=f"redemption:{redemption.id}", occurred_at=now)
    return redemption


def _create_in_shopify(app_state, shop: Shop, redemption: Redemption, customer_gid: str | None, now: datetime):
    program = shop_program(shop)
    reward = next(r for r in program.rewards if r.id == redemption.reward_id)
    spec = discount_spec(reward, shop.currency, now)
    result = create_discount_code(admin_client(app_state, shop), title=f"Embajador: {reward.name}",
                                  code=redemption.code, customer_gid=customer_gid, kind=spec.kind,
                                  amount=spec.amount, percentage=spec.percentage, min_subtotal=spec.min_subtotal,
                                  starts_at=spec.starts_at, ends_at=spec.ends_at)
    return result, spec.ends_at


def redeem_reward(app_state, shop_id: int, customer_id: int, reward_id: str, now: datetime) -> IssuedCode:
    """The whole redemption; raises UnknownReward, InsufficientPoints or ShopifyRefused."""
    with app_state.db.transaction() as session:
        redemption_id = reserve(session, session.get(Shop, shop_id), customer_id, reward_id, now).id
    return issue_reserved(app_state, shop_id, redemption_id, now)


def issue_reserved(app_state, shop_id: int, redemption_id: int, now: datetime) -> IssuedCode:
    """Steps 2 and 3 for a redemption ``reserve`` committed (the open API reserves inside its
    idempotency record's transaction, then calls this); raises ShopifyRefused."""
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        redemption = session.execute(Redemption.for_shop(shop_id).where(Redemption.id == redemption_id)).scalar_one()
        customer_id = redemption.customer_id
        customer_gid = session.get(Customer, customer_id).shopify_id
    try:
        result, ends_at = _create_in_shopify(app_state, shop, redemption, customer_gid, now)
    except Exception as exc:  # any refusal or outage: the shopper keeps their points
        _give_back(app_state, redemption.id, f"{type(exc).__name__}: {exc}"[:500], FAILED, now)
        raise ShopifyRefused(str(exc)) from exc
    with app_state.db.transaction() as session:
        row = session.get(Redemption, redemption.id)
        row.status, row.discount_gid, row.expires_at = ISSUED, result.node_gid, ends_at
        customer = session.get(Customer, customer_id)
        balance = customer.points_available
        _announce(session, customer, row, now)
    return IssuedCode(redemption.id, redemption.code, redemption.reward_id, redemption.cost, ends_at, balance)


def _announce(session, customer: Customer, row: Redemption, now: datetime) -> None:
    """``reward.redeemed`` for the merchant's webhooks, in the transaction that issues the code."""
    emit_reward_redeemed(session, customer, row.id, row.reward_id, row.reward_name, row.cost, row.code,
                         row.expires_at, now)


def _give_back(app_state, redemption_id: int, error: str | None, status: str, now: datetime) -> None:
    with app_state.db.transaction() as session:
        row = session.get(Redemption, redemption_id)
        customer = lock_customer(session, row.customer_id)
        shop = session.get(Shop, row.shop_id)
        post(session, shop_program(shop), customer,
             Entry(redeem_refund_key(row.id), "redeem_refund", available=row.cost, ref=f"redemption:{row.id}:redeem"),
             reason=f"reward {row.reward_name} not used: points restored", source="schedule" if error is None
             else f"redemption:{row.id}", occurred_at=now)
        row.status, row.error = status, error


INTERRUPTED_AFTER = timedelta(minutes=2)


def recover_interrupted_redemptions(app_state, now: datetime) -> dict:
    """Tick task: a redemption left ``reserved`` (the process died between its two
    transactions) is settled by asking Shopify whether the code exists: issued if it
    does, points given back if it does not. Shopify unreachable → try again next tick."""
    settled = {"issued": 0, "restored": 0, "retry": 0}
    with app_state.db.transaction() as session:
        rows = session.execute(select(Redemption).where(
            Redemption.status == RESERVED, Redemption.created_at <= now - INTERRUPTED_AFTER)).scalars().all()
        work = [(r.id, r.code, r.reward_id, r.created_at, session.get(Shop, r.shop_id)) for r in rows]
    for redemption_id, code, reward_id, created_at, shop in work:
        try:
            gid = find_discount_code(admin_client(app_state, shop), code)
        except (ShopifyError, ShopNotInstalled):
            settled["retry"] += 1
            continue
        if gid is None:
            _give_back(app_state, redemption_id, "interrupted before Shopify created the code", FAILED, now)
            settled["restored"] += 1
            continue
        reward = next((r for r in shop_program(shop).rewards if r.id == reward_id), None)
        with app_state.db.transaction() as session:
            row = session.get(Redemption, redemption_id)
            row.status, row.discount_gid = ISSUED, gid
            if reward is not None:
                row.expires_at = discount_spec(reward, shop.currency, created_at).ends_at
            _announce(session, session.get(Customer, row.customer_id), row, now)
        settled["issued"] += 1
    return settled


def refund_expired_codes(app_state, now: datetime) -> dict:
    """Tick task: codes that expired unused give their points back when the reward says so."""
    refunded = 0
    with app_state.db.transaction() as session:
        rows = session.execute(select(Redemption.id, Redemption.shop_id, Redemption.reward_id).where(
            Redemption.status == ISSUED, Redemption.used_at.is_(None), Redemption.expires_at <= now)).all()
        shops = {sid: shop_program(session.get(Shop, sid)) for sid in {r.shop_id for r in rows}}
    for redemption_id, shop_id, reward_id in rows:
        reward = next((r for r in shops[shop_id].rewards if r.id == reward_id), None)
        if reward is not None and reward.refund_points_on_expiry:
            _give_back(app_state, redemption_id, None, REFUNDED, now)
            refunded += 1
    return {"refunded": refunded}


def mark_codes_used(session, shop_id: int, codes, at: datetime) -> int:
    """An order used reward codes: they will not be refunded when they expire."""
    if not codes:
        return 0
    result = session.execute(update(Redemption).where(Redemption.shop_id == shop_id, Redemption.code.in_(list(codes)),
                                                      Redemption.used_at.is_(None)).values(used_at=at))
    return result.rowcount
