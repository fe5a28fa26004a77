"""The release phase builds the schema with Alembic: it must equal what the models declare."""
from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from plugin.db import Database
from plugin.migrations.runner import upgrade
from plugin.models import Base
from tests.conftest import PG_BASE


def test_migrations_build_exactly_the_models_schema():
    schema = f"m_{os.getpid()}"
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(f"{PG_BASE}?options=-csearch_path%3D{schema}")
    try:
        upgrade(db)
        upgrade(db)  # a second release on the same database is a no-op
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == [], f"models and migrations differ; regenerate the migration: {diff}"
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
