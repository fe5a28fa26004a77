"""Chapter: the emails Valentina (es-CL) gets, rendered into the outbox (no SendGrid key
needed), then a one-click survey score of 3 that opens a complaint for the merchant."""
from __future__ import annotations

import re
from datetime import timedelta

import requests
from sqlalchemy import select

from emails.delivery.scheduling import send_due_messages
from plugin.demo.chapter_loyalty import ORDER_ID, order_payload
from plugin.demo.stage import DEMO_SHOP
from plugin.lifecycle.dispatch import dispatch_events
from plugin.models import Complaint, Customer, OutboxMessage, Shop


def _email_tick(stage, now) -> None:
    """Just the email tick tasks (the whole tick also runs the other areas' schedules)."""
    with stage.app.app_context():
        dispatch_events(stage.app_state, now)
        send_due_messages(stage.app_state, now)


def _valentina(session):
    shop = session.execute(select(Shop).where(Shop.domain == DEMO_SHOP)).scalar_one()
    customer = session.execute(Customer.for_shop(shop.id).where(Customer.first_name == "Valentina")).scalar_one()
    return shop, customer


def run(stage) -> None:
    stage.title("Emails: Valentina's outbox (es-CL), a survey and a complaint")
    with stage.app_state.db.transaction() as session:
        shop, customer = _valentina(session)
        shop.settings = dict(shop.settings or {}, emails={"merchant_email": "dueno@tienda-embajador.test"})
        valentina_id = customer.shopify_id
    fulfilled = order_payload(stage, ORDER_ID, "#1001", valentina_id, "valentina@example.cl", [300000, 100000])
    fulfilled.update(fulfillment_status="fulfilled", updated_at=stage.now.isoformat())
    stage.webhook("orders/fulfilled", fulfilled)
    stage.say("orders/fulfilled for #1001 → a feedback request is scheduled 7 days later")
    _email_tick(stage, stage.now)
    _email_tick(stage, stage.now + timedelta(days=8))  # the feedback request is due 7 days after fulfilment
    with stage.app_state.db.transaction() as session:
        shop, customer = _valentina(session)
        rows = session.execute(OutboxMessage.for_shop(shop.id).where(OutboxMessage.customer_id == customer.id)
                               .order_by(OutboxMessage.id)).scalars().all()
        for row in rows:
            stage.say(f"outbox: {row.to_email} · {row.flow} · [{row.locale}] {row.subject} · {row.status}")
        feedback = next(r for r in rows if r.flow == "feedback_request")
        url = re.search(r"https?://\S+/survey/\S+\?score=3", feedback.text).group(0)
    path = url[url.index("/survey/"):]
    answer = requests.get(f"{stage.base_url}{path}", timeout=30)
    stage.say(f"Valentina clicks 3 in the survey → {answer.status_code}")
    _email_tick(stage, stage.now + timedelta(days=8))
    with stage.app_state.db.transaction() as session:
        shop, _ = _valentina(session)
        for case in session.execute(Complaint.for_shop(shop.id)).scalars():
            stage.say(f"complaint #{case.id} for order {case.order_name}: score {case.score}, status {case.status}")
        merchant = session.execute(OutboxMessage.for_shop(shop.id).where(
            OutboxMessage.flow == "complaint_opened")).scalars().first()
        if merchant is not None:
            stage.say(f"merchant notified: {merchant.to_email} · {merchant.subject} · {merchant.status}")
