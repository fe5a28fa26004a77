"""Building abandoned-checkout scenarios from the real Shopify payloads, with time set by tests."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from plugin.jobs.tick import run_tick
from plugin.models import OutboxMessage, Shop
from plugin.models.checkouts import AbandonedCheckout, RecoveryStep
from tests.shopify_requests import SHOP, consent_payload, fixture_payload, post_webhook

SHOPPER_ID = 7400000000000001
SHOPPER_EMAIL = "camila@example.cl"


def customer_payload(shopper_id: int = SHOPPER_ID, email: str = SHOPPER_EMAIL,
                     updated_at: str = "2026-01-01T00:00:00Z") -> dict:
    """customers/create as Shopify sends it (fixture shape: no consent, no locale)."""
    payload = fixture_payload("customers__create.json")
    payload.update(id=shopper_id, email=email, first_name="Camila", last_name="Soto", created_at=updated_at,
                   updated_at=updated_at, state="enabled", addresses=[], default_address=None)
    return payload


def post_customer(client, state: str = "subscribed", shopper_id: int = SHOPPER_ID, email: str = SHOPPER_EMAIL,
                  updated_at: str = "2026-01-01T00:00:00Z") -> None:
    """The shopper signs up: customers/create, then their consent on its own topic."""
    assert post_webhook(client, "customers/create", customer_payload(shopper_id, email, updated_at)).status_code == 200
    consent = consent_payload(shopper_id, email, state, updated_at)
    assert post_webhook(client, "customers_email_marketing_consent/update", consent).status_code == 200


def checkout_payload(token: str, updated_at: datetime, *, email: str | None = SHOPPER_EMAIL,
                     customer_id: int | None = SHOPPER_ID, quantity: int = 1, locale: str = "es",
                     completed_at: datetime | None = None, accepts_marketing: bool = False) -> dict:
    payload = fixture_payload("checkouts__create.json")
    payload.update(token=token, email=email, updated_at=updated_at.isoformat(), created_at=updated_at.isoformat(),
                   customer_locale=locale, buyer_accepts_marketing=accepts_marketing,
                   completed_at=completed_at.isoformat() if completed_at else None,
                   abandoned_checkout_url=f"https://{SHOP}/548380009/checkouts/{token}/recover?key=k-{token}")
    payload["line_items"] = payload["line_items"][:1]
    payload["line_items"][0].update(quantity=quantity)
    payload["subtotal_price"] = str(199 * quantity) + ".00"
    if customer_id is None:
        payload.pop("customer")
    else:
        payload["customer"].update(id=customer_id, email=email)
    return payload


def order_payload(order_id: int, created_at: datetime, *, checkout_token: str | None = None,
                  email: str = SHOPPER_EMAIL, total: str = "421.88", codes: tuple[str, ...] = ()) -> dict:
    order = fixture_payload("orders__create.json")
    order.update(id=order_id, checkout_token=checkout_token, cancelled_at=None, cancel_reason=None,
                 email=email, contact_email=email,
                 created_at=created_at.isoformat(), updated_at=created_at.isoformat(),
                 discount_codes=[{"code": c, "amount": "10.00", "type": "percentage"} for c in codes])
    order["customer"].update(id=SHOPPER_ID + 99, email=email)
    order["total_price_set"]["shop_money"]["amount"] = total
    return order


def send_checkout(client, topic: str, payload: dict, event_id: str | None = None) -> None:
    answer = post_webhook(client, topic, payload, event_id=event_id)
    assert answer.status_code == 200, answer.get_data(as_text=True)


def recovery_emails(app_state) -> list[OutboxMessage]:
    with app_state.db.transaction() as session:
        return session.execute(select(OutboxMessage).where(OutboxMessage.flow.like("abandoned_checkout_%"))
                               .order_by(OutboxMessage.id)).scalars().all()


def steps_of(app_state, token: str) -> dict[int, RecoveryStep]:
    with app_state.db.transaction() as session:
        rows = session.execute(select(RecoveryStep).join(AbandonedCheckout, AbandonedCheckout.id == RecoveryStep.checkout_id)
                               .where(AbandonedCheckout.token == token)).scalars().all()
        return {r.step: r for r in rows}


def checkout_row(app_state, token: str) -> AbandonedCheckout | None:
    with app_state.db.transaction() as session:
        return session.execute(select(AbandonedCheckout).where(AbandonedCheckout.token == token)).scalar_one_or_none()


def set_email_settings(app_state, **settings) -> None:
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        shop.settings = {**(shop.settings or {}), "emails": {**(shop.settings or {}).get("emails", {}), **settings}}
        shop.name = "Tienda Test"


def tick(app_state, at: datetime) -> dict:
    return run_tick(app_state, at)
