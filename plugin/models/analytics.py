"""Analytics rollups: small tables kept up to date as orders and ledger entries are written
(plugin/rollups/), so every dashboard figure aggregates hundreds of rows, not millions.

``analytics_customers`` has one row per customer (changed under that row's lock). The member
group, tier, month, cohort and points tables are *additive*: writers only INSERT signed changes (no row is shared
by concurrent orders, so nothing waits on a hot row), readers SUM them by key, and the tick
folds each shop's rows into one per key (plugin/rollups/store.compact_rollups)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, JSONType, ShopScoped, UTCDateTime


class AnalyticsCustomer(ShopScoped, Base):
    """One Shopify customer of a shop: member or not (any ledger entry), their non-cancelled
    orders and revenue, and the same per month (``months``: {"YYYY-MM": [orders, "revenue"]})."""

    __tablename__ = "analytics_customers"
    __table_args__ = (UniqueConstraint("shop_id", "customer_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_key: Mapped[str] = mapped_column(String(32), nullable=False)  # the Shopify customer id
    member: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    orders: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    revenue: Mapped[Decimal] = mapped_column(Numeric(20, 6), default=0, nullable=False)
    first_month: Mapped[str | None] = mapped_column(String(7))
    months: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, nullable=False)


class AnalyticsMemberGroup(ShopScoped, Base):
    """Members vs everyone else who ordered: customers, repeat customers (2+ orders), orders, revenue."""

    __tablename__ = "analytics_member_groups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member: Mapped[bool] = mapped_column(Boolean, nullable=False)
    customers: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    repeaters: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    orders: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    revenue: Mapped[Decimal] = mapped_column(Numeric(20, 6), default=0, nullable=False)


class AnalyticsTier(ShopScoped, Base):
    """Members per current tier ('' = none yet)."""

    __tablename__ = "analytics_tiers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tier: Mapped[str] = mapped_column(String(60), nullable=False)
    members: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class AnalyticsMonth(ShopScoped, Base):
    """Non-cancelled orders and revenue per month, members vs everyone else (guests included)."""

    __tablename__ = "analytics_months"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), nullable=False)
    member: Mapped[bool] = mapped_column(Boolean, nullable=False)
    orders: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    revenue: Mapped[Decimal] = mapped_column(Numeric(20, 6), default=0, nullable=False)


class AnalyticsCohort(ShopScoped, Base):
    """Customers of a first-order-month cohort who ordered in ``month``."""

    __tablename__ = "analytics_cohorts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    cohort: Mapped[str] = mapped_column(String(7), nullable=False)
    month: Mapped[str] = mapped_column(String(7), nullable=False)
    customers: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class AnalyticsPointsMonth(ShopScoped, Base):
    """Points issued, redeemed and expired per month (of the ledger entry's ``occurred_at``)."""

    __tablename__ = "analytics_points_months"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), nullable=False)
    issued: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    redeemed: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    expired: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)


class AnalyticsRollupState(ShopScoped, Base):
    """When a shop's rollups were last rebuilt from the source tables (none yet: build on first view)."""

    __tablename__ = "analytics_rollup_state"
    __table_args__ = (UniqueConstraint("shop_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
