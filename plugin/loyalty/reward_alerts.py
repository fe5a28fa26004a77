"""``reward_available`` events: the moment a balance first covers a reward's cost.

Keyed by the ledger entry that crossed the line, so a replay records nothing new and
a later crossing (after spending and earning again) is a new event.
"""
from __future__ import annotations

from datetime import datetime

from plugin.loyalty.balances import record_event
from plugin.loyalty.rules.program import Program
from plugin.models import Customer


def note_crossings(session, program: Program, customer: Customer, before: int, entry_id: int,
                   at: datetime) -> list[str]:
    """Record one event per reward whose cost lies in (before, now]; returns their ids."""
    after = customer.points_available
    crossed = [r for r in program.rewards if before < r.cost <= after]
    for reward in crossed:
        record_event(session, customer.shop_id, customer.id, "reward_available",
                     f"customer:{customer.id}:reward_available:{reward.id}:entry:{entry_id}", at,
                     {"reward_id": reward.id, "reward_name": reward.name, "reward_cost": reward.cost})
    return [r.id for r in crossed]
