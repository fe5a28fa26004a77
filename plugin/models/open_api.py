"""The open API's keys and idempotency records, and the review apps that award actions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, JSONType, ShopScoped, UTCDateTime, utcnow


class ApiKey(ShopScoped, Base):
    """A merchant's key for ``/v1``: only a public ``prefix`` and the SHA-256 of the secret part
    are stored; the whole key is shown once, when created."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    secret_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiIdempotency(ShopScoped, Base):
    """The answer given to one ``Idempotency-Key`` of a shop: a retry gets it again."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("shop_id", "key"), Index("ix_api_idempotency_created", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    api_key_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("api_keys.id", ondelete="SET NULL"))
    operation: Mapped[str] = mapped_column(String(200), nullable=False)  # "POST /v1/customers/7/adjust"
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)  # SHA-256 of the canonical body
    status_code: Mapped[int | None] = mapped_column(Integer)             # None while a redemption is open
    response: Mapped[dict | None] = mapped_column(JSONType)
    redemption_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("redemptions.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ReviewIntegration(ShopScoped, Base):
    """A review app allowed to award actions: Judge.me's signing secret (encrypted, it is needed
    to compute the HMAC), or the SHA-256 of the token in Yotpo's webhook URL."""

    __tablename__ = "review_integrations"
    __table_args__ = (UniqueConstraint("shop_id", "provider"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)  # judgeme | yotpo
    secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    token_sha256: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
