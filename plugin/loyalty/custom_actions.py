"""Points for actions outside the store (``actions.custom`` in the program document).

One call is one unit of work under the customer's row lock: the ledger key names the event
(``customer:7:action:review:judgeme-465077653``), so a replayed event posts nothing; the
times this customer was already paid for the action come from the ledger, and the pure
rule (rules/custom_actions.py) decides limit and cooldown.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from plugin.loyalty.balances import lock_customer
from plugin.loyalty.posting import post
from plugin.loyalty.rules.custom_actions import may_award
from plugin.loyalty.rules.ledger import Entry, action_key, key_part
from plugin.loyalty.status import shop_program
from plugin.loyalty.tier_sync import reevaluate_tier
from plugin.models import Customer, LedgerEntry, Shop

MAX_EVENT_ID = 120


class UnknownAction(LookupError):
    """The program has no custom action with this id."""


@dataclass(frozen=True)
class ActionAward:
    """What happened: ``awarded``, ``duplicate`` (this event paid already), ``limit`` or ``cooldown``."""

    status: str
    action_id: str
    points: int
    entry_id: int | None = None
    retry_at: datetime | None = None

    @property
    def awarded(self) -> bool:
        return self.status == "awarded"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def award_custom_action(session, shop: Shop, customer: Customer, action_id: str, event_id: str, now: datetime,
                        source: str) -> ActionAward:
    """Pay ``action_id`` to ``customer`` once for ``event_id`` (the caller's idempotency key or
    the review app's review id), unless its limit or cooldown says no. Raises UnknownAction."""
    program = shop_program(shop)
    action = program.actions.custom_action(action_id)
    if action is None:
        raise UnknownAction(action_id)
    customer = lock_customer(session, customer.id)
    key = action_key(action.id, customer.id, event_id)
    existing = session.execute(select(LedgerEntry.id).where(LedgerEntry.shop_id == shop.id,
                                                            LedgerEntry.key == key)).scalar_one_or_none()
    if existing is not None:
        return ActionAward("duplicate", action.id, 0, existing)
    prefix = action_key(action.id, customer.id, "x")[:-1]  # customer:7:action:review:
    previous = session.execute(select(LedgerEntry.occurred_at).where(
        LedgerEntry.shop_id == shop.id, LedgerEntry.customer_id == customer.id, LedgerEntry.kind == "action",
        LedgerEntry.key.like(_escape_like(prefix) + "%", escape="\\"))).scalars().all()
    decision = may_award(action, previous, now)
    if not decision.allowed:
        return ActionAward(decision.reason or "refused", action.id, 0, retry_at=decision.retry_at)
    label = action.name or action.id.replace("_", " ")
    entry_id = post(session, program, customer, Entry(key, "action", available=action.points),
                    reason=f"{label} points", source=source, occurred_at=now)
    reevaluate_tier(session, shop, customer, now, program, source=source)
    return ActionAward("awarded", action.id, action.points, entry_id)


def event_id_for(kind: str, raw: str) -> str:
    """A ledger-safe event id: ``api-<sha>`` for a caller's key, ``judgeme-<review id>``…"""
    return f"{kind}-{key_part(raw)[:MAX_EVENT_ID]}"
