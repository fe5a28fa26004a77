"""A shop's customer as far as the loyalty program needs to know them.

Only the minimum protected customer data is kept (email, names, locale, consent,
birthday); ``__pii__`` lists the columns that customers/redact wipes.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, ShopScoped, UTCDateTime, utcnow


class Customer(ShopScoped, Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("shop_id", "shopify_id"),)
    __pii__ = ("email", "first_name", "last_name", "birthday", "phone_hash")

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Shopify ids exceed 2**53: kept as decimal strings, never floats.
    shopify_id: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    marketing_state: Mapped[str] = mapped_column(String(32), default="NOT_SUBSCRIBED", nullable=False)
    marketing_state_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    birthday: Mapped[date | None] = mapped_column(Date)
    # When the shopper saved it (None: the merchant did); a birthday saved shortly before it
    # pays from the next year (program ``actions.birthday_lead_days``).
    birthday_saved_on: Mapped[date | None] = mapped_column(Date)
    shopify_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When consent/birthday were read over the Admin API (plugin/customers/consent.py): once.
    shopify_facts_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Our own unsubscribe (link, SendGrid) not yet written back to Shopify; cleared once it is.
    consent_push_pending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Cached balance and tier: always rebuildable from the ledger (plugin/loyalty).
    points_available: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    points_pending: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    tier_name: Mapped[str | None] = mapped_column(String(64))
    tier_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    referral_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    @property
    def is_subscribed(self) -> bool:
        return self.marketing_state == "SUBSCRIBED" and self.email is not None
