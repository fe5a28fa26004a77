"""The merchant's per-flow email choices (admin Emails page): on/off, delay, sender.

Stored in ``shop.settings["emails"]["flows"][<flow>]`` and honored where mail is made:
``emails.delivery.outbox.queue_email`` (a flow switched off is kept ``suppressed`` with reason
``flow_off``; the delay moves ``send_after``), the single and batch senders (checked again at
send time; the flow's sender is the SendGrid ``from``) and the win-back offers (no code is made
for a switched-off flow). A flow's consent kind (marketing / transactional) is fixed by the
catalogue (emails/content/flows.py) and never set here.
"""
from __future__ import annotations

import re
from typing import Any

from emails.content.flows import FLOWS
from emails.delivery.settings import MAX_DELAY_MINUTES, PROGRAM_TIMED, EmailSettings, FlowSettings
from plugin.loyalty.rules.program import Program, Surveys
from plugin.models import Shop

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
FIELDS = ("enabled", "delay_minutes", "from_email", "from_name")


class FlowSettingsError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def program_timing(flow: str, program: Program, surveys: Surveys | None) -> dict[str, Any] | None:
    """For flows the program document times: where the wait is set and what it is now
    (``None`` value: that part of the program is switched off)."""
    if flow == "feedback_request":
        return {"field": "surveys.delay_days", "value": None if surveys is None else f"P{surveys.delay_days}D"}
    if flow.startswith("abandoned_checkout_"):
        step = int(flow.rsplit("_", 1)[1])
        series = program.abandoned_checkout
        value = series.steps[step - 1] if series is not None and len(series.steps) >= step else None
        return {"field": f"abandoned_checkout.steps[{step - 1}]", "value": value}
    return None


def flow_view(name: str, settings: EmailSettings) -> dict[str, Any]:
    chosen = settings.flow(name)
    return {"enabled": chosen.enabled, "delay_minutes": 0 if name in PROGRAM_TIMED else chosen.delay_minutes,
            "from_email": chosen.from_email, "from_name": chosen.from_name,
            "sender": {"from_email": chosen.from_email or settings.from_email,
                       "from_name": chosen.from_name or settings.from_name if chosen.from_email else settings.from_name}}


def parse_flow_settings(flow: str, body: dict[str, Any]) -> FlowSettings:
    """Validate a PUT body (every field optional: omitted keeps today's value after merging)."""
    if flow not in FLOWS:
        raise FlowSettingsError("flow", f"unknown flow {flow!r}")
    for key in body:
        if key in ("marketing", "kind", "consent"):
            raise FlowSettingsError(key, "the consent kind is fixed by the flow (marketing mail needs consent)")
        if key not in FIELDS:
            raise FlowSettingsError(key, "unknown field")
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise FlowSettingsError("enabled", "must be true or false")
    delay = body.get("delay_minutes", 0)
    if delay is None:
        delay = 0
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY_MINUTES:
        raise FlowSettingsError("delay_minutes", f"must be a whole number of minutes from 0 to {MAX_DELAY_MINUTES}")
    if delay and flow in PROGRAM_TIMED:
        raise FlowSettingsError("delay_minutes", "this flow's timing is set in the program (surveys / abandoned "
                                                 "checkout steps)")
    if delay and FLOWS[flow].audience == "merchant":
        raise FlowSettingsError("delay_minutes", "alerts to the merchant go at once")
    from_email = body.get("from_email") or None
    if from_email is not None and (not isinstance(from_email, str) or len(from_email) > 254
                                   or not EMAIL.match(from_email.strip())):
        raise FlowSettingsError("from_email", "must be an email address like tienda@example.com (or empty for "
                                              "the shop's sender)")
    from_name = body.get("from_name") or None
    if from_name is not None and (not isinstance(from_name, str) or len(from_name.strip()) > 100
                                  or re.search(r"[\r\n]", from_name)):
        raise FlowSettingsError("from_name", "must be text of at most 100 characters on one line")
    return FlowSettings(enabled, delay, from_email.strip().lower() if from_email else None,
                        from_name.strip() if from_name else None)


def save_flow_settings(shop: Shop, flow: str, chosen: FlowSettings) -> None:
    emails = dict((shop.settings or {}).get("emails") or {})
    flows = dict(emails.get("flows") or {})
    flows[flow] = {"enabled": chosen.enabled, "delay_minutes": chosen.delay_minutes,
                   "from_email": chosen.from_email, "from_name": chosen.from_name}
    emails["flows"] = flows
    shop.settings = {**(shop.settings or {}), "emails": emails}
