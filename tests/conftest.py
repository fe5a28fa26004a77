"""Shared fixtures: real PostgreSQL and Redis, isolated per test run.

Each pytest run gets its own Postgres schema (``search_path``) and its own Redis db index
(claimed with a lock key), so several runs on one machine never see each other's data.
Tables are truncated between tests; the schema itself is built by the real migrations.
"""
from __future__ import annotations

import os
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PG_BASE = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_BASE = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
SCHEMA = f"t_{os.getpid()}"
API_KEY = "test-api-key"
API_SECRET = "test-api-secret-for-hmac-0123456789abcdef"
ENCRYPTION_KEY = "3q6L9wF0V2b8C5kqg3Zs8bM8yG0qXcPZ3oQpI9yXbW4="


@pytest.fixture(autouse=True)
def _reserved_test_hosts_fail_fast(monkeypatch):
    """``*.test`` names (RFC 2606) never resolve; answer that at once instead of waiting on the
    machine's resolver, so a call nobody stubbed fails in microseconds, like a refused port."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".test"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _die(message: str):
    pytest.exit(f"embajador tests: {message}", returncode=3)


def pytest_configure(config):
    sys.path.insert(0, str(ROOT))
    if not SHARED.is_dir():
        _die(f"../shared not found beside the repo at {SHARED}")


@pytest.fixture(scope="session")
def pg_url():
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    except Exception as exc:  # noqa: BLE001 - one clear line instead of a traceback
        _die(f"PostgreSQL is not reachable at {PG_BASE} ({type(exc).__name__}); run `make test`, which starts it")
    url = f"{PG_BASE}?options=-csearch_path%3D{SCHEMA}"
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url():
    try:
        lock_client = redis.Redis.from_url(f"{REDIS_BASE}/0", socket_connect_timeout=2)
        lock_client.ping()
    except redis.RedisError as exc:
        _die(f"Redis is not reachable at {REDIS_BASE} ({type(exc).__name__}); run `make test`, which starts it")
    for index in range(1, 16):
        if lock_client.set(f"embajador:test-db-lock:{index}", os.getpid(), nx=True, ex=3600):
            break
    else:
        _die("no free Redis db index (1-15) for this test run")
    yield f"{REDIS_BASE}/{index}"
    lock_client.delete(f"embajador:test-db-lock:{index}")


def base_env(pg_url: str, **overrides) -> dict:
    env = {
        "EMBAJADOR_MODE": "test",
        "SHOPIFY_API_KEY": API_KEY,
        "SHOPIFY_API_SECRET": API_SECRET,
        "SECRET_KEY": "test-secret-key",
        "ENCRYPTION_KEY": ENCRYPTION_KEY,
        "DATABASE_URL": pg_url,
        "APP_URL": "https://embajador.test",
        "SHOPIFY_ADMIN_ORIGIN": "https://admin.shopify.test",
        "LOG_FORMAT": "text",
    }
    env.update({k: v for k, v in overrides.items() if v is not None})
    return {k: v for k, v in env.items() if v != ""}


@pytest.fixture(scope="session")
def migrated(pg_url):
    """The schema from the models; tests/integration/test_migrations.py proves the
    migrations build exactly the same schema."""
    from plugin import create_app
    from plugin.models import Base
    app = create_app(base_env(pg_url))
    Base.metadata.create_all(app.extensions["embajador"].db.engine)
    app.extensions["embajador"].db.dispose()
    return True


def _truncate_all(db):
    from plugin.models import Base
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def app(migrated, pg_url):
    """The app on Postgres with in-process jobs (no Redis)."""
    from plugin import create_app
    app = create_app(base_env(pg_url))
    app_state = app.extensions["embajador"]
    _truncate_all(app_state.db)
    with app.app_context():
        yield app
    app_state.db.dispose()


@contextmanager
def rq_app_with(pg_url: str, redis_url: str, **env_overrides):
    """An app on emptied tables whose jobs go through the real Redis (flushed around it)."""
    from plugin import create_app
    app = create_app(base_env(pg_url, REDIS_URL=redis_url, **env_overrides))
    app_state = app.extensions["embajador"]
    _truncate_all(app_state.db)
    app_state.queue.connection.flushdb()
    with app.app_context():
        yield app
    app_state.queue.connection.flushdb()
    app_state.db.dispose()


@pytest.fixture
def rq_app(migrated, pg_url, redis_url):
    """The app on Postgres with jobs going through the real Redis (RQ)."""
    with rq_app_with(pg_url, redis_url) as app:
        yield app


@pytest.fixture
def app_state(app):
    return app.extensions["embajador"]


@pytest.fixture
def client(app):
    return app.test_client()
