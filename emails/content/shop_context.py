"""The context every email shares, read from the database: shop header, greeting and
the loyalty block (balance, tier, progress) from ``customer_status`` — the same numbers
the storefront widget shows."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from plugin.models import Customer, Shop
from plugin.loyalty.status import customer_status

from emails.content.formatting import Money


def shop_url(shop: Shop) -> str:
    return f"https://{shop.domain}"


def common_context(shop: Shop, customer: Customer | None) -> dict:
    ctx = {"shop_name": shop.name or shop.domain, "shop_url": shop_url(shop)}
    if customer is not None:
        ctx["customer_first_name"] = customer.first_name
    return ctx


def loyalty_context(session: Session, shop: Shop, customer: Customer, now: datetime) -> dict:
    """Balance, tier and progress to the next tier for the loyalty block."""
    status = customer_status(session, shop, customer, now)
    ctx = {"points_balance": status.available, "tier_name": status.tier_name,
           "next_tier_name": None, "tier_progress_percent": status.progress_percent}
    nxt = status.next_tier
    if nxt is not None:
        remaining = Decimal(getattr(nxt.remaining, "amount", nxt.remaining))
        ctx.update(next_tier_name=nxt.name, next_tier_metric=nxt.metric,
                   next_tier_remaining=Money(remaining, shop.currency) if nxt.metric == "spend"
                   else int(remaining))
    return ctx
