"""The loyalty block of every loyalty email (balance, tier, progress to the next tier),
from ``customer_status``: the same numbers the storefront widget shows. The app factory
registers it with emails (emails/content/shop_context.py), which knows no program."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from emails.content.formatting import Money
from emails.content.shop_context import LoyaltyBlock
from plugin.loyalty.status import customer_status
from plugin.models import Customer, Shop


def loyalty_block(session: Session, shop: Shop, customer: Customer, now: datetime) -> LoyaltyBlock:
    """Balance, tier and progress to the next tier of ``customer`` at ``now``."""
    status = customer_status(session, shop, customer, now)
    nxt = status.next_tier
    if nxt is None:
        return LoyaltyBlock(points_balance=status.available, tier_name=status.tier_name,
                            tier_progress_percent=status.progress_percent)
    remaining = Decimal(getattr(nxt.remaining, "amount", nxt.remaining))
    return LoyaltyBlock(points_balance=status.available, tier_name=status.tier_name,
                        tier_progress_percent=status.progress_percent, next_tier_name=nxt.name,
                        next_tier_metric=nxt.metric,
                        next_tier_remaining=Money(remaining, shop.currency) if nxt.metric == "spend"
                        else int(remaining))
