"""The referral program's tables: landings on /r/<code>, referrals, and hashed sightings.

No raw IP, user agent or address is ever stored: only HMAC-SHA256 digests keyed with
SECRET_KEY (plugin/referrals/hashing.py), enough to compare, useless to read.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, JSONType, ShopScoped, UTCDateTime, utcnow

PENDING, SUCCESSFUL, HELD, REJECTED, CANCELLED = "pending", "successful", "held", "rejected", "cancelled"
REFERRAL_STATUSES = (PENDING, SUCCESSFUL, HELD, REJECTED, CANCELLED)


class ReferralClick(ShopScoped, Base):
    """A friend landing on an advocate's link, and the friend code it was given."""

    __tablename__ = "referral_clicks"
    __table_args__ = (
        Index("ix_referral_clicks_visitor", "shop_id", "advocate_id", "ip_hash", "ua_hash", "created_at"),
        Index("ix_referral_clicks_friend_code", "shop_id", "friend_code"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    advocate_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    ua_hash: Mapped[str | None] = mapped_column(String(64))
    friend_code: Mapped[str | None] = mapped_column(String(64))  # None when Shopify could not be reached
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Referral(ShopScoped, Base):
    """One friend's first order attributed to an advocate, with the fraud verdict.

    ``customer_id``/``email`` are the FRIEND's (privacy.py finds a customer's rows by those
    names); the advocate is ``advocate_id``. ``hold_reasons`` is a list of
    ``{"code", "text"}`` the merchant reads before approving or rejecting.
    """

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("shop_id", "friend_order_id"),
        UniqueConstraint("shop_id", "advocate_id", "email"),
        Index("ix_referrals_status", "shop_id", "status", "id"),
        Index("ix_referrals_ip", "shop_id", "ip_hash", "created_at"),
    )
    __pii__ = ("email",)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    advocate_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"),
                                             nullable=False, index=True)
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id", ondelete="SET NULL"))
    email: Mapped[str | None] = mapped_column(String(320))  # normalised (gmail dots/plus-tags removed)
    friend_order_id: Mapped[str] = mapped_column(String(32), nullable=False)
    discount_code: Mapped[str | None] = mapped_column(String(64))
    click_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("referral_clicks.id", ondelete="SET NULL"))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    hold_reasons: Mapped[list] = mapped_column(JSONType, default=list, nullable=False)
    points_awarded: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    reviewed_by: Mapped[str | None] = mapped_column(String(128))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class CustomerFingerprint(ShopScoped, Base):
    """A hashed IP, device (IP + user agent) or shipping address seen on a customer's paid order.

    Lets the fraud checks ask "does the friend share a device or address with the advocate?"
    without keeping the address or IP itself.
    """

    __tablename__ = "customer_fingerprints"
    __table_args__ = (UniqueConstraint("shop_id", "customer_id", "kind", "value_hash"),
                      Index("ix_customer_fingerprints_lookup", "shop_id", "kind", "value_hash"))
    __pii__ = ("value_hash",)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # ip | device | address
    value_hash: Mapped[str | None] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
