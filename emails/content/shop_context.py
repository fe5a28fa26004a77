"""The context every email shares: shop header, greeting and the loyalty block
(balance, tier, progress).

Emails know no loyalty program: the block comes from a provider the app factory
registers (plugin/loyalty/email_block.py, the same numbers the storefront widget shows)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from emails.content.formatting import Money
from plugin.models import Customer, Shop


@dataclass(frozen=True)
class LoyaltyBlock:
    """What the loyalty block of an email shows. ``next_tier_remaining`` is Money for a
    spend tier, an int (points, orders) otherwise; unset when there is no next tier."""

    points_balance: int
    tier_name: str | None
    tier_progress_percent: int | None
    next_tier_name: str | None = None
    next_tier_metric: str | None = None
    next_tier_remaining: Money | int | None = None

    def as_context(self) -> dict:
        ctx = {"points_balance": self.points_balance, "tier_name": self.tier_name,
               "next_tier_name": None, "tier_progress_percent": self.tier_progress_percent}
        if self.next_tier_name is not None:
            ctx.update(next_tier_name=self.next_tier_name, next_tier_metric=self.next_tier_metric,
                       next_tier_remaining=self.next_tier_remaining)
        return ctx


LoyaltyBlockProvider = Callable[[Session, Shop, Customer, datetime], LoyaltyBlock]
_loyalty_block_provider: LoyaltyBlockProvider | None = None


def register_loyalty_block(provider: LoyaltyBlockProvider) -> None:
    """Called once by the app factory with the loyalty feature's implementation."""
    global _loyalty_block_provider
    _loyalty_block_provider = provider


def shop_url(shop: Shop) -> str:
    return f"https://{shop.domain}"


def common_context(shop: Shop, customer: Customer | None) -> dict:
    ctx = {"shop_name": shop.name or shop.domain, "shop_url": shop_url(shop)}
    if customer is not None:
        ctx["customer_first_name"] = customer.first_name
    return ctx


def loyalty_context(session: Session, shop: Shop, customer: Customer, now: datetime) -> dict:
    """Balance, tier and progress to the next tier for the loyalty block (from the registered
    provider; empty when none is registered, so the template reports what is missing)."""
    if _loyalty_block_provider is None:
        return {}
    return _loyalty_block_provider(session, shop, customer, now).as_context()
