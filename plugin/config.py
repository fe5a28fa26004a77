"""Configuration from the environment (CONTRACT.md), validated once at start.

Bad configuration raises ``ConfigError`` whose message is one line naming the variable;
the CLI and gunicorn entry points print it and exit instead of showing a traceback.
"""
from __future__ import annotations

import base64
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import limits
from cryptography.fernet import Fernet

from plugin.shopify.api_versions import LATEST_STABLE

DEFAULT_API_VERSION = LATEST_STABLE
# read_locales: shopLocales (the shop's primary language), https://shopify.dev/docs/api/admin-graphql/latest/queries/shopLocales
DEFAULT_SCOPES = "read_customers,write_customers,read_orders,write_discounts,read_locales"
MODES = ("demo", "test", "production")
DEFAULT_REDEEM_RATE_LIMIT = "5/minute"


class ConfigError(Exception):
    """A bad or missing environment variable; str() is one line naming it."""

    def __init__(self, variable: str, problem: str):
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Config:
    mode: str
    api_key: str
    api_secret: str
    api_version: str
    scopes: str
    app_url: str
    admin_origin: str | None
    secret_key: str
    encryption_keys: tuple[str, ...]
    database_url: str
    redis_url: str | None
    sendgrid_api_key: str | None
    sendgrid_api_host: str
    sendgrid_from_email: str | None
    sendgrid_event_public_key: str | None
    log_format: str
    # How many reverse proxies in front of the app append to X-Forwarded-For (Heroku's
    # router is one); the client address is the entry that many hops from the end.
    trusted_proxies: int = 0
    redeem_rate_limit: str = DEFAULT_REDEEM_RATE_LIMIT
    # Shoppers whose widget facts each web process keeps (plugin/storefront/facts_cache.py); 0: none.
    proxy_facts_cache_size: int = 4096
    # Shopify Billing API: off for self-hosted installs (every feature, no plan, no allowance).
    billing: bool = False
    billing_test: bool = True  # test charges (development stores); always outside production
    # The plan list as JSON data (validated at start by create_app: plugin.billing.rules.plans).
    billing_plans_doc: tuple = ()
    # Processes a what-if run splits the shop's customers across (0: one per CPU, at most 4).
    whatif_processes: int = 0
    # gunicorn's request threads per web process (gunicorn.conf.py reads the same variable);
    # the database pool keeps as many connections, so no thread waits for or opens one.
    web_threads: int = 8

    @property
    def is_production(self) -> bool:
        return self.mode == "production"


def normalize_database_url(url: str) -> str:
    """Heroku gives ``postgres://``; SQLAlchemy wants ``postgresql+psycopg://``."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _require(env, name: str, mode: str, default: str | None) -> str:
    value = env.get(name, "").strip()
    if value:
        return value
    if mode != "production" and default is not None:
        return default
    raise ConfigError(name, "is required in production (see README, Configuration)")


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(name, f"must be a {' or '.join(s + '://' for s in schemes)} URL")
    return value.rstrip("/")


def _check_fernet_key(value: str) -> str:
    """A Fernet key, or 64 hex characters (what Heroku's ``generator: secret`` makes)."""
    if re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return base64.urlsafe_b64encode(bytes.fromhex(value)).decode()
    try:
        if len(base64.urlsafe_b64decode(value.encode())) == 32:
            return value
    except ValueError:
        pass
    raise ConfigError("ENCRYPTION_KEY", "must be 64 hex characters or a Fernet key (python -c "
                      "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')")


def _instance_dir() -> Path:
    path = Path(__file__).resolve().parent.parent / "instance"
    path.mkdir(exist_ok=True)
    return path


def _demo_secret(name: str, factory) -> str:
    """Demo secrets are generated once and kept under instance/ so restarts can decrypt."""
    path = _instance_dir() / f".{name.lower()}"
    if not path.exists():
        path.write_text(factory())
        path.chmod(0o600)
    return path.read_text().strip()


def mode_of(env) -> str:
    """The mode the environment asks for, not yet checked against MODES: EMBAJADOR_MODE, else
    production on Heroku (``DYNO`` set), else demo. gunicorn.conf.py reads it too."""
    return env.get("EMBAJADOR_MODE", "").strip() or ("production" if env.get("DYNO") else "demo")


def load_config(env=None, mode: str | None = None) -> Config:
    """Read and validate the environment; raise ConfigError on the first bad variable."""
    env = os.environ if env is None else env
    mode = mode or mode_of(env)
    if mode not in MODES:
        raise ConfigError("EMBAJADOR_MODE", f"must be one of {', '.join(MODES)}")

    api_key = _require(env, "SHOPIFY_API_KEY", mode, "demo-api-key")
    api_secret = _require(env, "SHOPIFY_API_SECRET", mode, "demo-api-secret")
    api_version = env.get("SHOPIFY_API_VERSION", "").strip() or DEFAULT_API_VERSION
    if not re.fullmatch(r"\d{4}-(01|04|07|10)", api_version):
        raise ConfigError("SHOPIFY_API_VERSION", "must be a Shopify release like 2026-10")
    scopes = env.get("SHOPIFY_SCOPES", "").strip() or DEFAULT_SCOPES
    if not re.fullmatch(r"[a-z_]+(,[a-z_]+)*", scopes):
        raise ConfigError("SHOPIFY_SCOPES", "must be a comma-separated list like read_orders,write_discounts")
    app_url = _check_url("APP_URL", env.get("APP_URL", "").strip() or "http://127.0.0.1:5000", ("http", "https"))
    if mode == "production" and not app_url.startswith("https://"):
        raise ConfigError("APP_URL", "must be https:// in production")
    admin_origin = env.get("SHOPIFY_ADMIN_ORIGIN", "").strip() or None
    if admin_origin:
        if mode == "production":
            raise ConfigError("SHOPIFY_ADMIN_ORIGIN", "is for development and tests only; unset it in production")
        admin_origin = _check_url("SHOPIFY_ADMIN_ORIGIN", admin_origin, ("http", "https"))

    secret_key = env.get("SECRET_KEY", "").strip()
    if not secret_key:
        if mode == "production":
            raise ConfigError("SECRET_KEY", "is required in production")
        secret_key = _demo_secret("SECRET_KEY", lambda: secrets.token_urlsafe(32))
    if mode == "production" and len(secret_key) < 32:
        raise ConfigError("SECRET_KEY", "must be at least 32 characters in production (it signs survey and unsubscribe links)")
    enc = env.get("ENCRYPTION_KEY", "").strip()
    if not enc:
        if mode == "production":
            raise ConfigError("ENCRYPTION_KEY", "is required in production")
        enc = _demo_secret("ENCRYPTION_KEY", lambda: Fernet.generate_key().decode())
    encryption_keys = tuple(_check_fernet_key(k.strip()) for k in enc.split(",") if k.strip())
    if not encryption_keys:
        raise ConfigError("ENCRYPTION_KEY", "holds no key")

    database_url = env.get("DATABASE_URL", "").strip()
    if database_url:
        database_url = normalize_database_url(database_url)
        if not re.match(r"^(postgresql\+psycopg|sqlite)://", database_url):
            raise ConfigError("DATABASE_URL", "must be a postgres://, postgresql:// or sqlite:// URL")
    elif mode == "production":
        raise ConfigError("DATABASE_URL", "is required in production")
    else:
        database_url = f"sqlite:///{_instance_dir() / 'embajador.sqlite3'}"

    redis_url = env.get("REDIS_URL", "").strip() or None
    if redis_url:
        _check_url("REDIS_URL", redis_url, ("redis", "rediss"))

    sendgrid_host = env.get("SENDGRID_API_HOST", "").strip() or "https://api.sendgrid.com"
    sendgrid_host = _check_url("SENDGRID_API_HOST", sendgrid_host, ("http", "https"))
    log_format = env.get("LOG_FORMAT", "").strip() or ("json" if mode == "production" else "text")
    if log_format not in ("json", "text"):
        raise ConfigError("LOG_FORMAT", "must be json or text")
    redeem_rate_limit = env.get("PROXY_REDEEM_RATE_LIMIT", "").strip() or DEFAULT_REDEEM_RATE_LIMIT
    try:
        limits.parse(redeem_rate_limit)
    except ValueError:
        raise ConfigError("PROXY_REDEEM_RATE_LIMIT", "must look like 5/minute or 20/hour") from None

    proxy_facts_cache_size = _whole_number(env, "PROXY_FACTS_CACHE_SIZE", 4096, None,
                                           "must be a whole number of shoppers (0 turns the cache off)")

    trusted_proxies = _trusted_proxies(env)
    billing, billing_test, billing_plans = _billing(env, mode)
    whatif_processes = _whole_number(env, "WHATIF_PROCESSES", 0, 64,
                                     "must be a number of processes from 1 to 64 (0 or unset: one per CPU)")

    web_threads = _whole_number(env, "WEB_THREADS", 8, 64, "must be a number of threads per web process, 1 to 64",
                                minimum=1)

    return Config(
        mode=mode, api_key=api_key, api_secret=api_secret, api_version=api_version, scopes=scopes,
        app_url=app_url, admin_origin=admin_origin, secret_key=secret_key, encryption_keys=encryption_keys,
        database_url=database_url, redis_url=redis_url,
        sendgrid_api_key=env.get("SENDGRID_API_KEY", "").strip() or None,
        sendgrid_api_host=sendgrid_host,
        sendgrid_from_email=env.get("SENDGRID_FROM_EMAIL", "").strip() or None,
        sendgrid_event_public_key=env.get("SENDGRID_EVENT_PUBLIC_KEY", "").strip() or None,
        log_format=log_format, trusted_proxies=trusted_proxies, redeem_rate_limit=redeem_rate_limit,
        proxy_facts_cache_size=proxy_facts_cache_size,
        billing=billing, billing_test=billing_test, billing_plans_doc=billing_plans,
        whatif_processes=whatif_processes,
        web_threads=web_threads,
    )


def _switch(env, name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("on", "off", "1", "0", "true", "false"):
        raise ConfigError(name, "must be on or off")
    return raw in ("on", "1", "true")


def _billing(env, mode: str) -> tuple[bool, bool, tuple]:
    """``BILLING`` (default off: self-hosted installs and the demo charge nothing),
    ``BILLING_TEST`` (test charges; forced on outside production) and ``BILLING_PLANS``
    (a JSON file with the plan list; unset: the built-in free and growth plans)."""
    billing = _switch(env, "BILLING", False)
    test = _switch(env, "BILLING_TEST", False) or mode != "production"
    path = env.get("BILLING_PLANS", "").strip()
    if not path:
        return billing, test, ()
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError("BILLING_PLANS", f"cannot read {path} ({type(exc).__name__})") from None
    except ValueError:
        raise ConfigError("BILLING_PLANS", f"{path} is not valid JSON") from None
    if not isinstance(doc, list):
        raise ConfigError("BILLING_PLANS", "must be a JSON list of plans")
    return billing, test, tuple(doc)


def _trusted_proxies(env) -> int:
    """``TRUSTED_PROXIES``: 0 (no proxy; X-Forwarded-For ignored) unless on Heroku, whose
    router is exactly one proxy."""
    raw = env.get("TRUSTED_PROXIES", "").strip()
    if not raw:
        return 1 if env.get("DYNO") else 0
    return _whole_number(env, "TRUSTED_PROXIES", 0, 5, "must be the number of proxies in front of the app, 0 to 5")


def _whole_number(env, name: str, default: int, maximum: int | None, message: str, minimum: int = 0) -> int:
    """A setting written as ASCII digits (unset or blank: ``default``). ``str.isdigit()`` alone
    also accepts "²", which ``int()`` refuses: bad config is one line naming the variable."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < minimum or (maximum is not None and int(raw) > maximum):
        raise ConfigError(name, message)
    return int(raw)
