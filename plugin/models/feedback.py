"""Post-purchase feedback: one survey response per order, and complaint cases opened by
low scores that the merchant answers and closes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, ShopScoped, UTCDateTime, utcnow

OPEN, ANSWERED, CLOSED = "open", "answered", "closed"


class SurveyResponse(ShopScoped, Base):
    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("shop_id", "order_id"),)
    __pii__ = ("comment",)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[str] = mapped_column(String(64), nullable=False)
    order_name: Mapped[str | None] = mapped_column(String(64))
    survey_type: Mapped[str] = mapped_column(String(8), nullable=False)
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class Complaint(ShopScoped, Base):
    """A case the merchant handles: open → answered → closed."""

    __tablename__ = "complaints"
    __table_args__ = (UniqueConstraint("shop_id", "order_id"),)
    __pii__ = ("comment", "answer")

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    survey_response_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("survey_responses.id", ondelete="SET NULL"))
    order_id: Mapped[str] = mapped_column(String(64), nullable=False)
    order_name: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=OPEN, nullable=False)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
