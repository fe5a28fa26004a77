"""Autogenerate an Alembic revision from the models against a scratch Postgres schema.

    .venv/bin/python scripts/new_migration.py "add referrals"

Needs the local Postgres (make services). The scratch schema is dropped afterwards.
"""
from __future__ import annotations

import os
import sys

from sqlalchemy import create_engine, text

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plugin.db import Database  # noqa: E402
from plugin.migrations.runner import autogenerate, upgrade  # noqa: E402

BASE = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def main(message: str) -> None:
    schema = f"mig_{os.getpid()}"
    admin = create_engine(BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(f"{BASE}?options=-csearch_path%3D{schema}")
    try:
        upgrade(db)
        autogenerate(db, message)
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "schema change")
