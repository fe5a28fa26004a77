"""What an operator sees: /healthz, and configuration errors as one line naming the variable."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from plugin import create_app
from plugin.config import ConfigError, load_config, normalize_database_url
from tests.conftest import ROOT, base_env


def test_healthz_ok_with_database_and_redis(rq_app):
    response = rq_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_healthz_503_when_the_database_is_down(pg_url):
    app = create_app(base_env(pg_url, DATABASE_URL="postgresql://postgres@127.0.0.1:5999/test"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "down"


def test_healthz_503_when_redis_is_down(pg_url, migrated):
    app = create_app(base_env(pg_url, REDIS_URL="redis://127.0.0.1:6399/0"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "redis": "down"}


def test_heroku_database_urls_are_accepted():
    assert normalize_database_url("postgres://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"
    assert normalize_database_url("postgresql://u:p@h/d") == "postgresql+psycopg://u:p@h/d"


def test_rediss_is_accepted_for_heroku_redis():
    config = load_config({"REDIS_URL": "rediss://:pw@ec2.example.com:6380", "EMBAJADOR_MODE": "test",
                          "ENCRYPTION_KEY": base_env("x")["ENCRYPTION_KEY"], "SECRET_KEY": "s"})
    assert config.redis_url.startswith("rediss://")


@pytest.mark.parametrize("variable,value", [
    ("REDIS_URL", "http://localhost"),
    ("DATABASE_URL", "mysql://x/y"),
    ("ENCRYPTION_KEY", "too-short"),
    ("SHOPIFY_API_VERSION", "latest"),
    ("APP_URL", "not a url"),
    ("WHATIF_PROCESSES", "many"),
    ("WHATIF_PROCESSES", "-2"),
    ("WHATIF_PROCESSES", "65"),
    # str.isdigit() accepts these, int() does not: one line naming the variable, not a traceback.
    ("WHATIF_PROCESSES", "²"),
    ("PROXY_FACTS_CACHE_SIZE", "²"),
    ("PROXY_FACTS_CACHE_SIZE", "many"),
    ("TRUSTED_PROXIES", "¹"),
    ("WEB_THREADS", "0"),
    ("WEB_THREADS", "65"),
    ("WEB_THREADS", "eight"),
    ("WEB_THREADS", "⁸"),
])
def test_bad_values_name_the_variable(variable, value):
    env = base_env("postgresql://x/y", **{variable: value})
    with pytest.raises(ConfigError) as caught:
        load_config(env)
    assert str(caught.value).startswith(f"{variable}: ")


def test_the_database_pool_keeps_a_connection_per_request_thread(pg_url):
    """WEB_THREADS (gunicorn.conf.py's threads) sizes the pool: with more threads than pooled
    connections, a busy process would open and close a connection per request."""
    from plugin import create_app
    for env, expected in ((base_env(pg_url), 8), (base_env(pg_url, WEB_THREADS="3"), 3)):
        app_state = create_app(env).extensions["embajador"]
        assert app_state.db.engine.pool.size() == expected
        app_state.db.dispose()


def test_production_requires_secrets():
    with pytest.raises(ConfigError) as caught:
        load_config({"EMBAJADOR_MODE": "production"})
    assert caught.value.variable == "SHOPIFY_API_KEY"


def test_cli_prints_one_line_naming_the_variable_and_exits_non_zero():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPIFY_", "DATABASE_", "REDIS_"))}
    env.update(EMBAJADOR_MODE="production", SHOPIFY_API_KEY="k", SHOPIFY_API_SECRET="s",
               APP_URL="https://app.example.com", SECRET_KEY="x" * 40)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "plugin", "embajador", "tick"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["embajador: configuration error: ENCRYPTION_KEY: is required in production"]


def test_an_empty_key_list_names_encryption_key():
    with pytest.raises(ConfigError) as caught:
        load_config(base_env("postgresql://x/y", ENCRYPTION_KEY=" , "))
    assert caught.value.variable == "ENCRYPTION_KEY"


def test_a_short_secret_key_is_refused_in_production():
    env = {"EMBAJADOR_MODE": "production", "SHOPIFY_API_KEY": "k", "SHOPIFY_API_SECRET": "s",
           "APP_URL": "https://app.example.com", "SECRET_KEY": "short",
           "ENCRYPTION_KEY": base_env("x")["ENCRYPTION_KEY"], "DATABASE_URL": "postgres://u@h/d"}
    with pytest.raises(ConfigError) as caught:
        load_config(env)
    assert caught.value.variable == "SECRET_KEY"
