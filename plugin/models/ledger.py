"""The append-only points ledger and the domain events other parts (emails) react to."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, JSONType, ShopScoped, UTCDateTime, utcnow


class LedgerEntry(ShopScoped, Base):
    """One movement of points. Never updated or deleted (except by shop/redact)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("shop_id", "key"),
        Index("ix_ledger_entries_customer", "customer_id", "id"),
        Index("ix_ledger_entries_release_due", "shop_id", "kind", "available_at"),
        # The widget (GET /proxy/customer) on every page view: the latest entries and the tier
        # window by date, and when pending points release, without reading the whole history.
        Index("ix_ledger_entries_customer_recent", "customer_id", "occurred_at", "id"),
        Index("ix_ledger_entries_customer_pending", "customer_id", "available_at",
              postgresql_where=text("pending > 0"), sqlite_where=text("pending > 0")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    available: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    pending: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    ref: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)  # delivery:<id> | admin:<user> | schedule | cli
    order_id: Mapped[str | None] = mapped_column(String(32), index=True)
    # What the points were earned on and at which rate: clawbacks use these, never today's rule.
    base_amount: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    currency: Mapped[str | None] = mapped_column(String(3))
    per_amount: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    points_per: Mapped[int | None] = mapped_column(Integer)
    multiplier: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when pending points release
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class CustomerEvent(ShopScoped, Base):
    """Something that happened to a customer (points_earned, tier_changed, expiry_warning…).

    Written in the same transaction as the ledger change that caused it, with a unique key,
    so a replay records it once; emails/ turns unhandled events into messages.
    """

    __tablename__ = "customer_events"
    __table_args__ = (UniqueConstraint("shop_id", "key"), Index("ix_customer_events_unhandled", "handled_at", "id"))
    # ``data`` may name someone (a referred friend's first name): wiped on redact of either.
    __pii__ = ("data",)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    # Another customer the event mentions (the friend in a referral_reward), for redaction.
    about_customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id", ondelete="SET NULL"),
                                                          index=True)
    kind: Mapped[str] = mapped_column(String(48), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    data: Mapped[dict] = mapped_column(JSONType, default=dict, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
