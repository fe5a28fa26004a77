"""Records produced for Shopify's customers/data_request, for the merchant to download."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, JSONType, ShopScoped, UTCDateTime, utcnow


class CustomerDataExport(ShopScoped, Base):
    __tablename__ = "customer_data_exports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_shopify_id: Mapped[str] = mapped_column(String(32), nullable=False)
    data_request_id: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict] = mapped_column(JSONType, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
