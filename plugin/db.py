"""Engine, sessions and the few SQL helpers every edge shares.

Plain SQLAlchemy 2 (no Flask-SQLAlchemy) so the web app, the RQ worker and the CLI open
sessions the same way. One ``transaction()`` is one unit of work: all or nothing.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker


class Database:
    def __init__(self, url: str, *, echo: bool = False):
        kwargs: dict = {"pool_pre_ping": True, "echo": echo}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_size=5, max_overflow=10, pool_recycle=1800)
        self.url = url
        self.engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Open a session and commit on success, roll back on any exception."""
        with self.sessionmaker() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def insert_ignoring_conflicts(session: Session, model, values: dict, conflict_columns: list[str]):
    """INSERT … ON CONFLICT DO NOTHING RETURNING id; returns the new id or None if it existed.

    This is how idempotency keys are enforced without check-then-act races.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(model).values(**values)
            .on_conflict_do_nothing(index_elements=conflict_columns)
            .returning(model.id))
    return session.execute(stmt).scalar_one_or_none()


def lock_row(session: Session, model, row_id):
    """SELECT … FOR UPDATE (a no-op on SQLite, whose writers are serialised anyway)."""
    return session.execute(select(model).where(model.id == row_id).with_for_update()).scalar_one_or_none()
