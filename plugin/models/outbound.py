"""Outbound webhooks: the merchant's endpoints, the event outbox and one delivery per
(event, endpoint). Events are written in the transaction of the change that causes them;
RQ only carries delivery ids, and ``tick`` re-enqueues what is due (plugin/outbound/)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, JSONType, ShopScoped, UTCDateTime, utcnow

DELIVERY_PENDING, DELIVERY_DELIVERED, DELIVERY_FAILED, DELIVERY_CANCELLED = "pending", "delivered", "failed", "cancelled"


class OutboundEndpoint(ShopScoped, Base):
    """A URL of the merchant's that receives signed events for the topics it lists."""

    __tablename__ = "outbound_endpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    topics: Mapped[list] = mapped_column(JSONType, default=list, nullable=False)
    # The signing secret, Fernet-encrypted with ENCRYPTION_KEY like shop tokens (plugin/crypto.py).
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # First failure since the last success; 3 days of failures disable the endpoint.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class OutboundEvent(ShopScoped, Base):
    """One event (``points.changed``…) as it will be sent: the body is fixed at write time."""

    __tablename__ = "outbound_events"
    # The body names the customer (Shopify id, email): wiped by customers/redact.
    __pii__ = ("payload",)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic: Mapped[str] = mapped_column(String(32), nullable=False)
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    payload: Mapped[dict] = mapped_column(JSONType, default=dict, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class OutboundDelivery(ShopScoped, Base):
    """Sending one event to one endpoint: attempts, backoff and the last answer."""

    __tablename__ = "outbound_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        Index("ix_outbound_deliveries_due", "status", "next_attempt_at"),
        Index("ix_outbound_deliveries_endpoint", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbound_events.id", ondelete="CASCADE"), nullable=False)
    endpoint_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbound_endpoints.id", ondelete="CASCADE"),
                                             nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=DELIVERY_PENDING, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
