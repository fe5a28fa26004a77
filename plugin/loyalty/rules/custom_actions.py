"""Whether a custom action (a review, an Instagram follow…) may pay a customer now.

Pure: takes the action's settings, the times this customer was already paid for it, and
``now``; the service (plugin/loyalty/custom_actions.py) reads those times from the ledger
under the customer's row lock, so two concurrent awards cannot both slip under a limit.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from plugin.loyalty.rules.program import CustomAction


@dataclass(frozen=True)
class AwardDecision:
    allowed: bool
    reason: str | None = None          # "limit" | "cooldown"
    retry_at: datetime | None = None   # when a cooldown ends


def may_award(action: CustomAction, previous: Sequence[datetime], now: datetime) -> AwardDecision:
    """``previous``: when this customer was paid for ``action`` before (any order)."""
    if action.limit is not None and len(previous) >= action.limit:
        return AwardDecision(False, "limit")
    cooldown = action.cooldown_delta
    if cooldown is not None and previous:
        ends = max(previous) + cooldown
        if now < ends:
            return AwardDecision(False, "cooldown", ends)
    return AwardDecision(True)
