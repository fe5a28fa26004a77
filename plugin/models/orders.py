"""The ``orders`` table: what an order was worth, when, and to which customer."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, ShopScoped, UTCDateTime, utcnow


class Order(ShopScoped, Base):
    """One Shopify order in shop money. ``total`` is what was charged at placement,
    ``current_total`` what remains after refunds and edits; cancelled orders stay, flagged."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "order_id"),
        Index("ix_orders_shop_placed", "shop_id", "placed_at"),
        Index("ix_orders_shop_customer", "shop_id", "customer_shopify_id", "placed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(32), nullable=False)
    customer_shopify_id: Mapped[str | None] = mapped_column(String(32))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    total: Mapped[Decimal] = mapped_column(Numeric(20, 6), nullable=False)
    current_total: Mapped[Decimal] = mapped_column(Numeric(20, 6), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    financial_status: Mapped[str | None] = mapped_column(String(32))
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    source_name: Mapped[str | None] = mapped_column(String(64))
    shopify_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16), default="webhook", nullable=False)  # webhook | import
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
