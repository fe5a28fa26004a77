"""An installed (or once-installed) Shopify store and its OAuth state nonces."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.models.base import Base, BigId, JSONType, UTCDateTime, utcnow


class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    name: Mapped[str | None] = mapped_column(String(255))
    currency: Mapped[str] = mapped_column(String(3), default="USD", nullable=False)
    primary_locale: Mapped[str] = mapped_column(String(16), default="en", nullable=False)
    iana_timezone: Mapped[str | None] = mapped_column(String(64))
    scopes: Mapped[str | None] = mapped_column(Text)
    # Tokens are Fernet ciphertexts (plugin/crypto.py); never stored or logged in clear.
    access_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    access_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refresh_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when Shopify refused to refresh the expiring token: nothing retries until the
    # merchant opens the app, whose session token is exchanged for a new one.
    needs_reauth_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    installed: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    program: Mapped[dict | None] = mapped_column(JSONType)
    settings: Mapped[dict] = mapped_column(JSONType, default=dict, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    def __repr__(self) -> str:
        return f"<Shop {self.domain}>"


class OAuthState(Base):
    """A single-use ``state`` nonce bound to the shop that started the install."""

    __tablename__ = "oauth_states"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_domain: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
