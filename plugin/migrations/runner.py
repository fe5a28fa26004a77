"""Running Alembic from the app's own configuration (``flask --app plugin embajador db upgrade``)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent


def alembic_config(database_url: str, connection=None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(db) -> None:
    with db.engine.begin() as connection:
        command.upgrade(alembic_config(db.url, connection), "head")


def autogenerate(db, message: str) -> None:
    with db.engine.begin() as connection:
        command.revision(alembic_config(db.url, connection), message=message, autogenerate=True)
