"""Chapter: two carts are abandoned; one shopper gets the 3-email series, the other buys and
the series stops; the merchant sees the revenue the emails recovered."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from plugin.demo.chapter_customers import SHOPPERS
from plugin.demo.stage import DEMO_SHOP
from plugin.models import OutboxMessage, Shop
from plugin.models.checkouts import AbandonedCheckout, RecoveryStep
from plugin.recovery.analytics import recovery_stats

CART = [("Poncho de alpaca", "Gris", 45990, 1), ("Gorro de lana", "Azul", 12990, 2)]
SUBTOTAL = sum(price * qty for _, _, price, qty in CART)


def checkout_payload(shopper: dict, token: str, at) -> dict:
    lines = [{"title": title, "variant_title": variant, "quantity": qty, "price": str(price),
              "variant_id": 4400 + i}
             for i, (title, variant, price, qty) in enumerate(CART)]
    return {"id": 9100000000000000 + shopper["id"] % 1000, "token": token, "email": shopper["email"],
            "created_at": at.isoformat(), "updated_at": at.isoformat(), "completed_at": None,
            "currency": "CLP", "presentment_currency": "CLP", "customer_locale": shopper["locale"],
            "subtotal_price": str(SUBTOTAL), "line_items": lines, "buyer_accepts_marketing": True,
            "abandoned_checkout_url": f"https://{DEMO_SHOP}/checkouts/{token}/recover?key=demo",
            "customer": {"id": shopper["id"], "email": shopper["email"]}}


def order_payload(shopper: dict, token: str, at) -> dict:
    money = {"shop_money": {"amount": str(SUBTOTAL), "currency_code": "CLP"},
             "presentment_money": {"amount": str(SUBTOTAL), "currency_code": "CLP"}}
    return {"id": 5600000000000001, "name": "#1042", "email": shopper["email"], "checkout_token": token,
            "created_at": at.isoformat(), "processed_at": at.isoformat(), "currency": "CLP",
            "financial_status": "paid", "customer_locale": shopper["locale"], "taxes_included": True,
            "subtotal_price": str(SUBTOTAL), "subtotal_price_set": money, "total_price": str(SUBTOTAL),
            "total_price_set": money, "discount_codes": [], "line_items": [], "source_name": "web",
            "customer": {"id": shopper["id"], "email": shopper["email"]}}


def _new_emails(stage, seen: set[int]) -> list[OutboxMessage]:
    with stage.app_state.db.transaction() as session:
        rows = session.execute(select(OutboxMessage).where(OutboxMessage.flow.like("abandoned_checkout_%"))
                               .order_by(OutboxMessage.id)).scalars().all()
    fresh = [r for r in rows if r.id not in seen]
    seen.update(r.id for r in fresh)
    return fresh


def run(stage) -> None:
    stage.title("Abandoned checkouts: a 3-email series that stops when the shopper buys")
    valentina, joao = SHOPPERS[0], SHOPPERS[1]
    start = stage.now
    for shopper, token in ((valentina, "demo-ck-valentina"), (joao, "demo-ck-joao")):
        stage.webhook("checkouts/create", checkout_payload(shopper, token, start), event_id=f"demo-{token}")
        stage.say(f"{shopper['first_name']} leaves a cart of ${SUBTOTAL:,} CLP (checkouts/create)".replace(",", "."))
    seen: set[int] = set()
    for hours, buyer in ((1, None), (3, joao), (24, None), (72, None)):
        stage.advance(seconds=(start + timedelta(hours=hours) - stage.now).total_seconds())
        if buyer is not None:
            stage.webhook("orders/paid", order_payload(buyer, "demo-ck-joao", stage.now), event_id="demo-order-1042")
            stage.say(f"+{hours} h: {buyer['first_name']} completes the purchase (orders/paid #1042)")
        stage.tick()
        for email in _new_emails(stage, seen):
            stage.say(f"+{hours} h: {email.flow} → {email.to_email} [{email.status}] “{email.subject}”")
    with stage.app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.domain == DEMO_SHOP)).scalar_one()
        for checkout in session.execute(AbandonedCheckout.for_shop(shop.id).order_by(AbandonedCheckout.id)).scalars():
            steps = session.execute(select(RecoveryStep).where(RecoveryStep.checkout_id == checkout.id)
                                    .order_by(RecoveryStep.step)).scalars().all()
            stage.say(f"{checkout.token}: " + ", ".join(f"step {s.step} {s.status}" for s in steps)
                      + (f" — code {steps[-1].incentive_code}" if steps and steps[-1].incentive_code else ""))
        stats = recovery_stats(session, shop)
    stage.say(f"abandoned checkouts: {stats['emailed']} emailed, {stats['recovered']} recovered, "
              f"recovered revenue {stats['recovered_revenue']} {stats['currency']}")
    for row in stats["steps"]:
        stage.say(f"  step {row['step']}: sent {row['sent']}, recovered {row['recovered']} "
                  f"({row['recovery_rate']} %), revenue {row['recovered_revenue']} {stats['currency']}")
    stage.say("see it any time with: flask --app plugin embajador checkouts stats --shop " + DEMO_SHOP)
