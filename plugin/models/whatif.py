"""What-if runs: a draft program simulated on the shop's history, its progress and its report."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, JSONType, ShopScoped, UTCDateTime, utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class WhatifRun(ShopScoped, Base):
    """One simulation. ``done``/``total`` count orders replayed (the page polls them); the
    report holds figures and Shopify customer ids only, never names or emails."""

    __tablename__ = "whatif_runs"
    __table_args__ = (Index("ix_whatif_runs_shop_created", "shop_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED, nullable=False)
    draft: Mapped[dict] = mapped_column(JSONType, nullable=False)
    done: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    total: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    report: Mapped[dict | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
