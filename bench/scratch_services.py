"""Scratch Postgres schema and Redis db index for a bench run, claimed like tests/conftest.py
does, so a bench never shares data with a test run or another bench."""
from __future__ import annotations

import os
from contextlib import contextmanager

PG_BASE = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_BASE = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
REDIS_LOCK = "embajador:test-db-lock:{}"


class BenchError(Exception):
    """Setup failed (a service is down, a server did not start): one line, exit 2."""


@contextmanager
def scratch_schema(base_url: str):
    """A Postgres schema of our own, reached through ``search_path`` like the test suite's."""
    from sqlalchemy import create_engine, text
    schema = f"bench_{os.getpid()}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback
        raise BenchError(f"PostgreSQL is not reachable at {base_url} ({type(exc).__name__})") from None
    try:
        yield f"{base_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def redis_db(base_url: str):
    """Claim a free Redis db index (1-15), flushed before and after."""
    import redis
    lock = redis.Redis.from_url(f"{base_url}/0", socket_connect_timeout=2)
    try:
        lock.ping()
    except redis.RedisError as exc:
        raise BenchError(f"Redis is not reachable at {base_url} ({type(exc).__name__})") from None
    index = next((i for i in range(1, 16) if lock.set(REDIS_LOCK.format(i), os.getpid(), nx=True, ex=3600)), None)
    if index is None:
        raise BenchError("no free Redis db index (1-15)")
    db = redis.Redis.from_url(f"{base_url}/{index}")
    db.flushdb()
    try:
        yield f"{base_url}/{index}"
    finally:
        db.flushdb()
        lock.delete(REDIS_LOCK.format(index))


