"""A shop's plan under the Shopify Billing API (one row per shop; absent = the free plan)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, ShopScoped, UTCDateTime, utcnow


class ShopBilling(ShopScoped, Base):
    __tablename__ = "shop_billing"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(64), nullable=False)  # the plan in effect
    # The Shopify subscription we know of (active, or waiting for the merchant's approval).
    subscription_gid: Mapped[str | None] = mapped_column(String(255))
    subscription_status: Mapped[str | None] = mapped_column(String(16))
    pending_plan_id: Mapped[str | None] = mapped_column(String(64))
    test: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    trial_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
