"""The few SQL spellings that differ between SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy.orm import Session


def month_of(session: Session, column: str) -> str:
    """SQL text giving 'YYYY-MM' (UTC) of a timestamp column."""
    if session.get_bind().dialect.name == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"
    return f"strftime('%Y-%m', {column})"
