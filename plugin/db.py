"""Engine, sessions and the few SQL helpers every edge shares.

Plain SQLAlchemy 2 (no Flask-SQLAlchemy) so the web app, the RQ worker and the CLI open
sessions the same way. One ``transaction()`` is one unit of work: all or nothing.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from sqlalchemy import TextClause, bindparam, create_engine, event, select, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

PING_AFTER_IDLE_SECONDS = 5.0


class Database:
    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 5):
        """``pool_size``: connections kept open (each opened when first needed); the web app
        passes its request threads (``WEB_THREADS``), so a busy process never opens and closes
        overflow connections per request."""
        # hide_parameters: a database error must never print a payload (PII) into logs.
        kwargs: dict = {"echo": echo, "hide_parameters": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_size=pool_size, max_overflow=10, pool_recycle=1800)
        self.url = url
        self.engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        event.listen(self.engine, "checkin", _stamp_idle)
        event.listen(self.engine, "checkout", _ping_if_idle)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # Same pool; for single-statement units of work (the webhook INSERT), where an
        # explicit BEGIN and COMMIT would add two round trips to one.
        self.autocommit_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Open a session and commit on success, roll back on any exception."""
        with self.sessionmaker() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads only, on the autocommit engine: no BEGIN/COMMIT round trips.

        Each statement sees the data committed when it starts (PostgreSQL READ COMMITTED gives
        a transaction nothing more), so a read-only request loses nothing; anything that must
        write uses ``transaction()``. Nothing is flushed or committed here."""
        with Session(self.autocommit_engine, expire_on_commit=False, autoflush=False) as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _stamp_idle(_dbapi_connection, record):
    if record is not None:
        record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy):
    """Pre-ping, but only a connection that sat idle in the pool (where a server restart, a
    failover or a firewall could have dropped it). ``pool_pre_ping`` cost one round trip on
    every checkout (~10 % of a webhook's ingress time). A connection that dies while busy
    raises a disconnect error, and SQLAlchemy then invalidates the whole pool."""
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        dbapi_connection.rollback()  # leave it idle: the caller may switch to autocommit
    except Exception as exc:  # noqa: BLE001 - any failure means: reconnect (the pool retries)
        raise DisconnectionError(f"idle connection failed its ping ({type(exc).__name__})") from exc


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def insert_ignoring_conflicts(session: Session, model, values: dict, conflict_columns: list[str]):
    """INSERT … ON CONFLICT DO NOTHING RETURNING id; returns the new id or None if it existed.

    This is how idempotency keys are enforced without check-then-act races.
    """
    dialect = session.get_bind().dialect
    key = (dialect.name, model, tuple(values), tuple(conflict_columns))
    statement = _INSERTS.get(key)
    if statement is None:
        statement = _INSERTS[key] = _insert_ignoring(dialect, model.__table__, tuple(values), conflict_columns)
    params = dict(values)
    for name, default in statement.defaults:
        params[name] = default.arg(None) if default.is_callable else default.arg
    return session.execute(statement.text, params).scalar_one_or_none()


class _CachedInsert(NamedTuple):
    text: TextClause
    defaults: tuple


# The dialect insert() with on_conflict_do_nothing() is not cacheable by SQLAlchemy
# (inherit_cache = False): it was compiled again on every call, ~15 % of an order's CPU.
# A text() per (model, columns) is compiled once; Python-side column defaults are
# filled in here as Core would (server defaults stay with the database).
_INSERTS: dict[tuple, _CachedInsert] = {}


def _insert_ignoring(dialect, table, given: tuple, conflict_columns) -> _CachedInsert:
    defaults = tuple((c.name, c.default) for c in table.columns
                     if c.name not in given and c.default is not None and not c.default.is_sequence
                     and (c.default.is_callable or c.default.is_scalar))
    names = [*given, *(name for name, _ in defaults)]
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
           f"VALUES ({', '.join(f':{n}' for n in names)}) "
           f"ON CONFLICT ({', '.join(quote(n) for n in conflict_columns)}) DO NOTHING RETURNING id")
    return _CachedInsert(text(sql).bindparams(*(bindparam(n, type_=table.c[n].type) for n in names)), defaults)


def lock_row(session: Session, model, row_id):
    """SELECT … FOR UPDATE (a no-op on SQLite, whose writers are serialised anyway).

    ``populate_existing``: a row this session loaded before taking the lock keeps its old
    values in the identity map otherwise, and ``balance += n`` would then write a sum based
    on a value another transaction has since changed (a lost update the chaos replay found).
    A row this transaction already locked (``note_locked``) is not selected again."""
    if (model, row_id) in session.info.get(_LOCKED, ()):
        found = session.get(model, row_id)
        if found is not None:
            return found
    row = session.execute(select(model).where(model.id == row_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if row is not None:
        note_locked(session, row)
    return row


_LOCKED = "embajador.locked_rows"


def advisory_xact_lock(session: Session, key: str) -> None:
    """``pg_advisory_xact_lock`` on ``key``, held until this transaction ends ("automatically
    released at the end of the current transaction", PostgreSQL's advisory lock functions).
    Taken once per transaction: asking again for a key this transaction holds costs no round
    trip (an orders/paid asked twice for its order's lock). Remembered with the row locks, so
    forgotten on commit and on any rollback, where asking again is merely re-entrant."""
    held = session.info.setdefault(_LOCKED, set())
    if ("advisory", key) in held:
        return
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
    held.add(("advisory", key))




def note_locked(session: Session, row) -> None:
    """``row`` is locked by this transaction (read FOR UPDATE with ``populate_existing``, or
    inserted by it): a later ``lock_row`` of it costs no round trip. Forgotten on commit and
    on any rollback (a rolled-back savepoint releases the locks taken inside it)."""
    session.info.setdefault(_LOCKED, set()).add((type(row), row.id))


@event.listens_for(Session, "after_soft_rollback")
def _forget_locks_on_rollback(session, _previous_transaction):
    session.info.pop(_LOCKED, None)


@event.listens_for(Session, "after_commit")
def _forget_locks_on_commit(session):
    session.info.pop(_LOCKED, None)
