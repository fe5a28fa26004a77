"""Embajador: a Shopify loyalty app. ``create_app()`` is the factory for web, CLI and worker."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from typing import Mapping

from flask import Flask, current_app

from .config import Config, ConfigError, load_config
from .logs import get_logger
from .shopify.api_versions import version_status


@dataclass
class AppState:
    """Everything the edges share, reachable as ``plugin.state()``."""

    config: Config
    db: "Database"  # noqa: F821
    queue: "JobQueue"  # noqa: F821
    cipher: "TokenCipher"  # noqa: F821


def create_app(env: Mapping[str, str] | None = None) -> Flask:
    """Build the app from ``env`` (default: the process environment)."""
    try:
        config = load_config(env)
    except ConfigError as exc:
        if env is None:  # started by `flask` or gunicorn: one line, no traceback
            sys.stderr.write(f"embajador: configuration error: {exc}\n")
            raise SystemExit(2)
        raise

    from .crypto import TokenCipher
    from .db import Database
    from .jobs import InlineQueue, RQQueue
    from .logs import configure_logging

    configure_logging(config.log_format)
    _warn_if_api_version_unsupported(config)
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(SECRET_KEY=config.secret_key, MAX_CONTENT_LENGTH=5 * 1024 * 1024,
                      JSON_SORT_KEYS=False, PREFERRED_URL_SCHEME="https")
    queue = RQQueue(config.redis_url) if config.redis_url else InlineQueue()
    app.extensions["embajador"] = AppState(config=config, db=Database(config.database_url),
                                           queue=queue, cipher=TokenCipher(config.encryption_keys))
    from .points.metafields import enqueue_syncs_after_commit
    enqueue_syncs_after_commit(app.extensions["embajador"])
    _register_blueprints(app)
    _register_commands(app)
    return app


def _warn_if_api_version_unsupported(config: Config) -> None:
    """One warning line at start when the pinned Admin API version left its support window."""
    status = version_status(config.api_version, date.today())
    if not status.supported:
        get_logger("config").warning(status.describe())


def _register_blueprints(app: Flask) -> None:
    from webhooks.ingress import bp as webhooks_bp

    from .health import bp as health_bp
    from .install import bp as install_bp

    for bp in (health_bp, install_bp, webhooks_bp):
        app.register_blueprint(bp)
    for optional in ("plugin.storefront.views", "plugin.admin.views", "plugin.referral_views",
                     "emails.views"):
        _register_if_present(app, optional)


def _register_if_present(app: Flask, module_path: str) -> None:
    """Blueprints of capabilities that live in their own package register themselves here."""
    import importlib
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        if exc.name and module_path.startswith(exc.name):
            return
        raise
    app.register_blueprint(module.bp)


def _register_commands(app: Flask) -> None:
    from .cli import embajador
    app.cli.add_command(embajador)


def state() -> AppState:
    return current_app.extensions["embajador"]
