"""Emails as durable rows: the outbox (one row per message we may send), the addresses
SendGrid told us never to mail again, and the delivery events SendGrid reported."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, JSONType, ShopScoped, UTCDateTime, utcnow

QUEUED = "queued"          # waiting for send_after / next_attempt_at
SENDING = "sending"        # claimed by a job; the HTTP call is in flight
SENT = "sent"              # SendGrid answered 202
OUTBOX = "outbox"          # no SENDGRID_API_KEY: rendered and kept here (demo)
SUPPRESSED = "suppressed"  # not sent on purpose; ``reason`` says why
FAILED = "failed"          # permanent error (4xx, bad request, retries exhausted)
UNKNOWN = "unknown"        # a crash after the call: maybe sent, never re-sent blindly


class OutboxMessage(ShopScoped, Base):
    """One email to one recipient, keyed by our stable ``message_id`` (custom_args)."""

    __tablename__ = "email_outbox"
    __table_args__ = (
        UniqueConstraint("shop_id", "message_id"),
        Index("ix_email_outbox_due", "status", "send_after"),
        Index("ix_email_outbox_customer_sent", "customer_id", "marketing", "sent_at"),
        Index("ix_email_outbox_batch", "status", "shop_id", "flow", "batch_key"),
    )
    __pii__ = ("to_email", "to_name", "subject", "html", "text", "context")

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    message_key: Mapped[str] = mapped_column(String(300), nullable=False)
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id", ondelete="SET NULL"),
                                                    index=True)
    # Set on mail *about* a customer sent to someone else (complaint_opened to the merchant),
    # so customers/redact finds it.
    about_customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id", ondelete="SET NULL"))
    flow: Mapped[str] = mapped_column(String(48), nullable=False)
    priority: Mapped[int] = mapped_column(Integer, default=50, nullable=False)
    marketing: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    locale: Mapped[str] = mapped_column(String(16), nullable=False)
    to_email: Mapped[str | None] = mapped_column(String(320))
    to_name: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    unsubscribe_url: Mapped[str | None] = mapped_column(Text)
    # The flow's own context (emails/stored_context.py) and the locale it renders in: loyalty
    # flows are rendered again at send time so the balance and tier are current.
    context: Mapped[dict | None] = mapped_column(JSONType)
    # Rows of a mass flow that can share one rendered template (emails/batch_send.py).
    batch_key: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=QUEUED, nullable=False)
    reason: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sg_message_id: Mapped[str | None] = mapped_column(String(128))
    last_event: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


WIN_BACK_PENDING = "pending"   # code chosen and stored; Shopify not (yet) confirmed it
WIN_BACK_CREATED = "created"   # the code exists in Shopify; the email is queued
WIN_BACK_FAILED = "failed"     # Shopify kept refusing; given up after MAX attempts


class WinBackOffer(ShopScoped, Base):
    """One win-back per inactivity period: the customer's last order time keys it, and the
    code is chosen before Shopify is asked, so a retry re-sends the same code (never two)."""

    __tablename__ = "email_win_back_offers"
    __table_args__ = (UniqueConstraint("shop_id", "customer_id", "last_order_at"),
                      UniqueConstraint("shop_id", "code"),
                      Index("ix_email_win_back_due", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    last_order_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=WIN_BACK_PENDING, nullable=False)
    discount_gid: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    outbox_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("email_outbox.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class EmailSuppression(ShopScoped, Base):
    """An address we must not mail again (hard bounce, spam report)."""

    __tablename__ = "email_suppressions"
    __table_args__ = (UniqueConstraint("shop_id", "email"),)
    __pii__ = ("email",)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class EmailEvent(Base):
    """One SendGrid Event Webhook event, stored once per ``sg_event_id``."""

    __tablename__ = "email_events"
    __pii__ = ("detail",)  # bounce reasons and clicked URLs carry addresses and recovery links

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sg_event_id: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    shop_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    outbox_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("email_outbox.id", ondelete="CASCADE"),
                                                  index=True)
    message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(32), nullable=False)
    detail: Mapped[dict] = mapped_column(JSONType, default=dict, nullable=False)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
