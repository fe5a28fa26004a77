"""A shop's email settings (``shop.settings["emails"]``) with the defaults the issue names."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

# Flows whose timing the program document owns (its surveys.delay_days, its abandoned_checkout
# steps): a per-flow delay here would count the wait twice, so they take none.
PROGRAM_TIMED = frozenset({"feedback_request", "abandoned_checkout_1", "abandoned_checkout_2",
                           "abandoned_checkout_3"})
MAX_DELAY_MINUTES = 60 * 24 * 60  # 60 days
# A test send (admin preview, onboarding's sender check) goes to the merchant even when its
# flow is switched off: its message key starts with this.
TEST_SEND_PREFIX = "test-send:"


@dataclass(frozen=True)
class FlowSettings:
    """The merchant's choices for one flow (``shop.settings["emails"]["flows"][name]``)."""

    enabled: bool = True
    delay_minutes: int = 0              # after the event that triggers it
    from_email: str | None = None       # None: the shop's sender
    from_name: str | None = None

    @classmethod
    def from_raw(cls, raw: Any) -> FlowSettings:
        raw = raw if isinstance(raw, dict) else {}
        return cls(enabled=raw.get("enabled", True) is not False,
                   delay_minutes=max(0, int(raw.get("delay_minutes") or 0)),
                   from_email=raw.get("from_email") or None, from_name=raw.get("from_name") or None)


@dataclass(frozen=True)
class EmailSettings:
    from_email: str | None
    from_name: str | None
    reply_to: str | None
    asm_group_id: int | None
    frequency_cap: int = 1              # marketing emails per customer per window
    frequency_window_hours: int = 24
    feedback_delay_days: int = 7
    survey_type: str = "nps"            # nps | csat | ces
    survey_expiry_days: int = 30
    win_back_days: int = 90
    win_back_discount_type: Literal["percentage", "fixed_amount"] = "percentage"  # fixed_amount: shop currency
    win_back_discount_value: Decimal = Decimal("10")
    win_back_code_days: int = 14
    merchant_email: str | None = None
    notices_need_consent: bool = False  # merchant's choice for transactional-type loyalty notices
    flows: Mapping[str, FlowSettings] = field(default_factory=lambda: MappingProxyType({}))

    def flow(self, name: str) -> FlowSettings:
        return self.flows.get(name) or FlowSettings()

    def flow_enabled(self, name: str) -> bool:
        return self.flow(name).enabled

    def flow_delay(self, name: str) -> timedelta:
        """How long after its event a message of this flow is due (0 for program-timed flows)."""
        return timedelta(0) if name in PROGRAM_TIMED else timedelta(minutes=self.flow(name).delay_minutes)

    def for_flow(self, name: str | None) -> EmailSettings:
        """These settings with the flow's own sender (if the merchant set one) as the From."""
        chosen = self.flow(name) if name else FlowSettings()
        if not chosen.from_email:
            return self
        return replace(self, from_email=chosen.from_email, from_name=chosen.from_name or self.from_name)

    @classmethod
    def for_shop(cls, shop, default_from: str | None, flow: str | None = None) -> EmailSettings:
        """The shop's settings; with ``flow``, that flow's sender as the From (send time)."""
        settings = cls._read(shop, default_from)
        return settings.for_flow(flow) if flow else settings

    @classmethod
    def _read(cls, shop, default_from: str | None) -> EmailSettings:
        raw = dict((shop.settings or {}).get("emails") or {})
        group = raw.get("asm_group_id")
        return cls(
            from_email=raw.get("from_email") or default_from,
            from_name=raw.get("from_name") or shop.name,
            reply_to=raw.get("reply_to"),
            asm_group_id=int(group) if group not in (None, "") else None,
            frequency_cap=int(raw.get("frequency_cap", 1)),
            frequency_window_hours=int(raw.get("frequency_window_hours", 24)),
            feedback_delay_days=int(raw.get("feedback_delay_days", 7)),
            survey_type=str(raw.get("survey_type", "nps")).lower(),
            survey_expiry_days=int(raw.get("survey_expiry_days", 30)),
            win_back_days=int(raw.get("win_back_days", 90)),
            win_back_discount_type="fixed_amount" if raw.get("win_back_discount_type") == "fixed_amount"
            else "percentage",
            win_back_discount_value=Decimal(str(raw.get("win_back_discount_value", "10"))),
            win_back_code_days=int(raw.get("win_back_code_days", 14)),
            merchant_email=raw.get("merchant_email") or (shop.settings or {}).get("email"),
            notices_need_consent=bool(raw.get("notices_need_consent", False)),
            flows=MappingProxyType({name: FlowSettings.from_raw(value)
                                    for name, value in (raw.get("flows") or {}).items()}),
        )


def is_test_send(message_key: str | None) -> bool:
    return bool(message_key) and str(message_key).startswith(TEST_SEND_PREFIX)
