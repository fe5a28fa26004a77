"""The last computed analytics of a shop: what the dashboard reads when a worker keeps it fresh."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, JSONType, ShopScoped, UTCDateTime


class AnalyticsSnapshot(ShopScoped, Base):
    __tablename__ = "analytics_snapshots"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # {figure: {"columns": [...], "rows": [[...]]}, "liability": {...}}; money as decimal strings.
    figures: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
