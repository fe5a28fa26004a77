"""The install's plan catalogue: ``BILLING_PLANS`` (a JSON file) or the built-in plans."""
from __future__ import annotations

from plugin.billing.rules.plans import DEFAULT_PLANS, Plan, parse_plans


def plans_of(config) -> tuple[Plan, ...]:
    """Parsed on use (a handful of plans); create_app has already refused a bad list."""
    return parse_plans(list(config.billing_plans_doc) or DEFAULT_PLANS)
