"""Chapter: the emails Valentina (es-CL) gets, rendered into the outbox (no SendGrid key
needed), then a one-click survey score of 3 that opens a complaint for the merchant."""
from __future__ import annotations

import re
from datetime import timedelta

import requests
from sqlalchemy import inspect, select

from plugin.models import Complaint, Customer, CustomerEvent, OutboxMessage, Shop
from plugin.points.ledger import record_event

from .stage import DEMO_SHOP

WANTED = {
    "welcome": {"signup_points": 100},
    "points_earned": {"points_earned": 45, "order_name": "#1001", "order_id": "demo-1001"},
    "tier_changed": {"direction": "up", "previous_tier_name": "Bronce", "tier_name": "Plata"},
}


def _ensure_tables(stage) -> None:
    """Until the lead regenerates plugin/migrations, create the email tables the demo needs."""
    from plugin.models import Base
    engine = stage.app_state.db.engine
    missing = [t for t in ("email_outbox", "email_suppressions", "email_events", "survey_responses", "complaints")
               if not inspect(engine).has_table(t)]
    if missing:
        Base.metadata.create_all(engine, tables=[Base.metadata.tables[t] for t in missing])


def _email_tick(stage, now) -> None:
    """Just the email tick tasks (the whole tick also runs the other areas' schedules)."""
    from emails.dispatch import dispatch_events
    from emails.outbox import send_due_messages
    with stage.app.app_context():
        dispatch_events(stage.app_state, now)
        send_due_messages(stage.app_state, now)


def _valentina(session):
    shop = session.execute(select(Shop).where(Shop.domain == DEMO_SHOP)).scalar_one()
    customer = session.execute(Customer.for_shop(shop.id).where(Customer.first_name == "Valentina")).scalar_one()
    return shop, customer


def run(stage) -> None:
    stage.title("Emails: Valentina's outbox (es-CL), a survey and a complaint")
    _ensure_tables(stage)
    with stage.app_state.db.transaction() as session:
        shop, customer = _valentina(session)
        shop.settings = dict(shop.settings or {}, emails={"merchant_email": "dueno@tienda-embajador.test"})
        have = set(session.execute(select(CustomerEvent.kind).where(
            CustomerEvent.customer_id == customer.id)).scalars())
        for kind, data in WANTED.items():
            if kind not in have:
                record_event(session, shop.id, customer.id, kind, f"demo:{kind}", stage.now, data)
                stage.say(f"(no {kind} event from the loyalty chapters yet: recorded one for the demo)")
        record_event(session, shop.id, customer.id, "order_fulfilled", "demo:fulfilled:1001", stage.now,
                     {"order_id": "demo-1001", "order_name": "#1001", "fulfilled_at": stage.now.isoformat()})
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
