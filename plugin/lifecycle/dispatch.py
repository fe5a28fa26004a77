"""Tick task: turn the loyalty engine's unhandled CustomerEvents into outbox messages.

Each event kind has one builder returning (flow, context, send_after) or None; the
message key is ``<flow>:<event key>`` so a replayed event never queues twice, and the
event is marked handled in the same transaction as the rows it produced. Only kinds
listed here are touched: events other parts consume stay unhandled for them.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from emails.content.formatting import Discount
from emails.content.shop_context import shop_url
from emails.delivery.outbox import queue_email
from emails.delivery.settings import EmailSettings
from plugin.app_state import state
from plugin.feedback.survey_links import survey_urls
from plugin.logs import get_logger
from plugin.loyalty.rules.program import Surveys
from plugin.loyalty.status import shop_program
from plugin.models import Customer, CustomerEvent, OutboxMessage, Shop

log = get_logger("plugin.lifecycle.dispatch")
BATCH = 500
Built = tuple[str, dict, datetime | None] | None


def _date(value) -> date | None:
    if not value:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _program_url(shop: Shop) -> str:
    return f"{shop_url(shop)}/apps/embajador"


def welcome(ev, shop, customer, s, now) -> Built:
    return "welcome", {"signup_points": int(ev.data.get("signup_points", 0)),
                       "program_url": _program_url(shop)}, None


def points_earned(ev, shop, customer, s, now) -> Built:
    return "points_earned", {"points_earned": int(ev.data["points_earned"]),
                             "order_name": str(ev.data.get("order_name") or ev.data.get("order_id") or ""),
                             "points_available_on": _date(ev.data.get("available_on"))}, None


def reward_available(ev, shop, customer, s, now) -> Built:
    return "reward_available", {"reward_name": ev.data["reward_name"], "reward_cost": int(ev.data["reward_cost"]),
                                "redeem_url": f"{_program_url(shop)}?reward={ev.data.get('reward_id', '')}"}, None


def tier_changed(ev, shop, customer, s, now) -> Built:
    ctx = {"direction": ev.data.get("direction", "up"), "previous_tier_name": ev.data.get("previous_tier_name") or "",
           "tier_benefits": _tier_benefits(shop, ev.data.get("tier_name"))}
    if ev.data.get("tier_name"):
        ctx["tier_name"] = ev.data["tier_name"]
    return "tier_changed", ctx, None


def _tier_benefits(shop: Shop, tier_name: str | None) -> list[str]:
    """Tier-aware copy: what this tier gives (its earn multiplier and entry bonus)."""
    tier = next((t for t in shop_program(shop).tiers if t.name == tier_name), None)
    if tier is None:
        return []
    benefits = [f"x{Decimal(tier.multiplier).normalize()}"] if Decimal(tier.multiplier) != 1 else []
    if tier.entry_points:
        benefits.append(f"+{tier.entry_points}")
    return benefits


def expiry(flow: str) -> Callable:
    def build(ev, shop, customer, s, now) -> Built:
        return flow, {"expiring_points": int(ev.data["expiring_points"]),
                      "expires_on": _date(ev.data["expires_on"])}, None
    return build


def birthday(ev, shop, customer, s, now) -> Built:
    return "birthday", {"birthday_points": int(ev.data.get("birthday_points", 0))}, None


def referral_reward(ev, shop, customer, s, now) -> Built:
    return "referral_reward", {"points_awarded": int(ev.data["points_awarded"]),
                               "friend_first_name": ev.data.get("friend_first_name")}, None


def referral_invite(ev, shop, customer, s, now) -> Built:
    if not customer.referral_code:
        return None
    referral = shop_program(shop).referral
    value = referral.friend.value or Decimal(0)
    friend = Discount("fixed_amount", value, shop.currency) if referral.friend.type == "fixed_amount" \
        else Discount("percentage", value)
    app_url = state().config.app_url.rstrip("/")
    return "referral_invite", {"referral_url": f"{app_url}/r/{customer.referral_code}",
                               "friend_reward": friend, "advocate_points": referral.advocate_points}, None


def shop_surveys(shop: Shop, s: EmailSettings) -> Surveys | None:
    """The survey the program document sets (None: switched off); a document without
    ``surveys`` keeps the shop's older email settings (feedback_delay_days, survey_type)."""
    program = shop_program(shop)
    if program.surveys_set:
        return program.surveys
    return Surveys(s.survey_type, s.feedback_delay_days, s.survey_expiry_days)


def order_fulfilled(ev, shop, customer, s, now) -> Built:
    surveys = shop_surveys(shop, s)
    if surveys is None:
        return None
    fulfilled = datetime.fromisoformat(str(ev.data.get("fulfilled_at") or ev.occurred_at.isoformat())
                                       .replace("Z", "+00:00"))
    send_after = fulfilled + timedelta(days=surveys.delay_days)
    urls = survey_urls(shop, customer, str(ev.data.get("order_id") or ""), str(ev.data.get("order_name") or ""),
                       surveys.type, send_after + timedelta(days=surveys.expiry_days))
    return "feedback_request", {"order_name": str(ev.data.get("order_name") or ""), "survey_type": surveys.type,
                                "survey_urls": urls}, send_after


BUILDERS: dict[str, Callable] = {
    "welcome": welcome, "points_earned": points_earned, "reward_available": reward_available,
    "tier_changed": tier_changed, "expiry_warning": expiry("expiry_warning"),
    "expiry_last_chance": expiry("expiry_last_chance"), "birthday": birthday,
    "referral_reward": referral_reward, "referral_invite": referral_invite, "order_fulfilled": order_fulfilled,
}


def dispatch_events(app_state, now: datetime) -> dict:
    """Tick task: queue a message per unhandled event (one transaction per batch)."""
    queued = skipped = 0
    with app_state.db.transaction() as session:
        events = session.execute(
            select(CustomerEvent).where(CustomerEvent.handled_at.is_(None), CustomerEvent.kind.in_(BUILDERS))
            .order_by(CustomerEvent.id).limit(BATCH).with_for_update(skip_locked=True)).scalars().all()
        for event in events:
            if handle_event(session, event, now, app_state.config.sendgrid_from_email) is None:
                skipped += 1
            else:
                queued += 1
            event.handled_at = now
    return {"events": len(events), "queued": queued, "skipped": skipped}


def handle_event(session: Session, event: CustomerEvent, now: datetime, default_from: str | None) -> int | None:
    shop = session.get(Shop, event.shop_id)
    customer = session.get(Customer, event.customer_id) if event.customer_id else None
    if shop is None or customer is None or not customer.email:
        return None
    settings = EmailSettings.for_shop(shop, default_from)
    built = BUILDERS[event.kind](event, shop, customer, settings, now)
    if built is None:
        return None
    flow, context, send_after = built
    locale = event.data.get("locale") if isinstance(event.data.get("locale"), str) else None
    outbox_id = queue_email(session, shop=shop, flow=flow, message_key=f"{flow}:{event.key}", to_email=customer.email,
                            context=context, customer=customer, locale=locale, send_after=send_after,
                            marketing=True if settings.notices_need_consent else None, now=now)
    if outbox_id is not None and event.about_customer_id is not None:  # the mail names them: redact reaches it
        session.get(OutboxMessage, outbox_id).about_customer_id = event.about_customer_id
    return outbox_id
