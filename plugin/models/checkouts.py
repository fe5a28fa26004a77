"""Abandoned checkouts and their recovery series.

A checkout is keyed by its ``token`` (the 2026-04 payloads dropped the numeric ``id``).
Each recovery email is a ``RecoveryStep`` row with its own ``due_at``: the schedule lives
in Postgres and ``tick`` executes it, so a Redis flush or a deploy loses no step.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, JSONType, ShopScoped, UTCDateTime, utcnow

SCHEDULED = "scheduled"
SENT = "sent"
SKIPPED = "skipped"
CANCELLED = "cancelled"


class AbandonedCheckout(ShopScoped, Base):
    __tablename__ = "abandoned_checkouts"
    __table_args__ = (UniqueConstraint("shop_id", "token"), Index("ix_abandoned_checkouts_email", "shop_id", "email"))
    __pii__ = ("email", "recovery_url", "line_items")

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token: Mapped[str] = mapped_column(String(255), nullable=False)
    checkout_id: Mapped[str | None] = mapped_column(String(32), index=True)
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    customer_shopify_id: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    locale: Mapped[str | None] = mapped_column(String(16))
    # Consent carried by the checkout itself; only used when we have no customer record.
    consent_state: Mapped[str | None] = mapped_column(String(32))
    line_items: Mapped[list | None] = mapped_column(JSONType)
    subtotal: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    currency: Mapped[str | None] = mapped_column(String(3))
    presentment_subtotal: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    presentment_currency: Mapped[str | None] = mapped_column(String(3))
    recovery_url: Mapped[str | None] = mapped_column(Text)
    shopify_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shopify_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_order_id: Mapped[str | None] = mapped_column(String(32))
    emptied: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recovered_order_id: Mapped[str | None] = mapped_column(String(32))
    recovered_revenue: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    recovered_step: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16), default="webhook", nullable=False)  # webhook | reconcile
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class RecoveryStep(ShopScoped, Base):
    __tablename__ = "recovery_steps"
    __table_args__ = (UniqueConstraint("checkout_id", "step"), Index("ix_recovery_steps_due", "status", "due_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    checkout_id: Mapped[int] = mapped_column(BigId, ForeignKey("abandoned_checkouts.id", ondelete="CASCADE"),
                                             nullable=False)
    step: Mapped[int] = mapped_column(Integer, nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=SCHEDULED, nullable=False)
    skip_reason: Mapped[str | None] = mapped_column(String(64))
    outbox_message_id: Mapped[int | None] = mapped_column(BigId)
    # Stored before Shopify is called, so a retry re-uses the same code (never two codes).
    incentive_code: Mapped[str | None] = mapped_column(String(64))
    incentive_created: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    incentive_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class CheckoutOrder(ShopScoped, Base):
    """What checkout recovery needs from one orders/create|paid delivery, copied from the inbox
    before its payload is purged: how to match it to a checkout and what it was worth."""

    __tablename__ = "checkout_orders"
    __table_args__ = (UniqueConstraint("delivery_id"), Index("ix_checkout_orders_token", "shop_id", "checkout_token"),
                      Index("ix_checkout_orders_email", "shop_id", "email"))
    __pii__ = ("email",)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(BigId, nullable=False)
    order_id: Mapped[str | None] = mapped_column(String(32))  # None: not an order we could read
    checkout_token: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    customer_shopify_id: Mapped[str | None] = mapped_column(String(32))
    discount_codes: Mapped[str | None] = mapped_column(Text)  # "|CODE1|CODE2|", upper-case
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revenue: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    currency: Mapped[str | None] = mapped_column(String(3))
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class CheckoutSync(ShopScoped, Base):
    """When the reconciliation last read Shopify's abandonedCheckouts for a shop."""

    __tablename__ = "checkout_syncs"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    synced_through: Mapped[datetime | None] = mapped_column(UTCDateTime)  # start of the last successful run
    last_error: Mapped[str | None] = mapped_column(Text)
