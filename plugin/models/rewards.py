"""Reward codes bought with points, and the few order facts a later refund needs.

No personal data here: a redemption points at the customer row and carries the
discount code (not PII); an order row keeps ids, the order name and a tax flag.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, ShopScoped, UTCDateTime, utcnow

RESERVED, ISSUED, FAILED, REFUNDED = "reserved", "issued", "failed", "refunded"


class Redemption(ShopScoped, Base):
    """One reward bought: points reserved first, the Shopify code second (race-safe)."""

    __tablename__ = "redemptions"
    __table_args__ = (UniqueConstraint("shop_id", "code"), Index("ix_redemptions_customer", "customer_id", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    reward_id: Mapped[str] = mapped_column(String(64), nullable=False)
    reward_name: Mapped[str] = mapped_column(String(255), nullable=False)
    cost: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=RESERVED, nullable=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    discount_gid: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class LoyaltyOrder(ShopScoped, Base):
    """What a refund or a late orders/paid must know about an order we have seen."""

    __tablename__ = "loyalty_orders"
    __table_args__ = (UniqueConstraint("shop_id", "order_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(32), nullable=False)
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(64))
    taxes_included: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class LoyaltyRefund(ShopScoped, Base):
    """Every refunds/create seen, so a refund that arrives before its order's points still counts."""

    __tablename__ = "loyalty_refunds"
    __table_args__ = (UniqueConstraint("shop_id", "refund_id"),
                      Index("ix_loyalty_refunds_order", "shop_id", "order_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    refund_id: Mapped[str] = mapped_column(String(32), nullable=False)
    order_id: Mapped[str] = mapped_column(String(32), nullable=False)
    merchandise: Mapped[Decimal] = mapped_column(Numeric(20, 6), nullable=False)
    tax: Mapped[Decimal] = mapped_column(Numeric(20, 6), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
