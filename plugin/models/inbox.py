"""The durable webhook inbox: every verified delivery is a row before Shopify gets its 200."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, JSONType, UTCDateTime, utcnow

PENDING = "pending"        # stored, waiting for a worker (or the sweeper)
PROCESSED = "processed"    # the topic handler committed its work
UNHANDLED = "unhandled"    # stored, no handler for this topic yet
IGNORED = "ignored"        # unknown / uninstalled shop: recorded, no work done
FAILED = "failed"          # malformed payload: recorded and reported, never retried
DEAD = "dead"              # handler kept failing: dead letter after MAX_ATTEMPTS


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("shop_domain", "topic", "dedupe_key"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_domain: Mapped[str] = mapped_column(String(255), nullable=False)
    shop_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(String(64), nullable=False)
    dedupe_key: Mapped[str] = mapped_column(String(128), nullable=False)
    event_id: Mapped[str | None] = mapped_column(String(128))
    webhook_id: Mapped[str | None] = mapped_column(String(128))
    api_version: Mapped[str | None] = mapped_column(String(16))
    triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # The raw, HMAC-verified body. Purged after processing retention and on customers/redact.
    payload: Mapped[str | None] = mapped_column(Text)
    subject_customer_id: Mapped[str | None] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default=PENDING, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[dict | None] = mapped_column(JSONType)
