"""A shop's email settings (``shop.settings["emails"]``) with the defaults the issue names."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal


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

    @classmethod
    def for_shop(cls, shop, default_from: str | None) -> EmailSettings:
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
        )
