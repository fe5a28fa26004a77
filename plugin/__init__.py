"""Embajador: a Shopify loyalty app. ``create_app()`` is the factory for web, CLI and worker."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Mapping

from flask import Flask, current_app

from plugin.config import Config, ConfigError, load_config


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

    from plugin.shops.token_cipher import TokenCipher
    from plugin.db import Database
    from plugin.jobs.queue import InlineQueue, RQQueue
    from plugin.logs import configure_logging

    configure_logging(config.log_format)
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(SECRET_KEY=config.secret_key, MAX_CONTENT_LENGTH=5 * 1024 * 1024,
                      JSON_SORT_KEYS=False, PREFERRED_URL_SCHEME="https")
    queue = RQQueue(config.redis_url) if config.redis_url else InlineQueue()
    app.extensions["embajador"] = AppState(config=config, db=Database(config.database_url),
                                           queue=queue, cipher=TokenCipher(config.encryption_keys))
    from plugin.loyalty.metafield_sync import enqueue_syncs_after_commit
    enqueue_syncs_after_commit(app.extensions["embajador"])
    _register_blueprints(app)
    _register_commands(app)
    return app


def _register_blueprints(app: Flask) -> None:
    # Imported here, as in Flask's own tutorial: the blueprints import ``plugin.state``, and
    # importing a pure rules module must not build the web app.
    from emails.routes import bp as emails_bp
    from webhooks.ingress import bp as webhooks_bp

    from .admin.views import bp as admin_bp
    from .referrals.routes import bp as referrals_bp
    from .shops.install import bp as install_bp
    from .storefront.views import bp as storefront_bp
    from .web.health import bp as health_bp

    for bp in (health_bp, install_bp, webhooks_bp, storefront_bp, admin_bp, referrals_bp, emails_bp):
        app.register_blueprint(bp)


def _register_commands(app: Flask) -> None:
    from plugin.cli import embajador
    app.cli.add_command(embajador)


def state() -> AppState:
    return current_app.extensions["embajador"]
