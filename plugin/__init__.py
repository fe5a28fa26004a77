"""Embajador: a Shopify loyalty app. ``create_app()`` is the factory for web, CLI and worker."""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from datetime import date

from flask import Flask

from plugin.app_state import AppState
from plugin.billing.plans import plans_of
from plugin.billing.rules.plans import BadPlans
from plugin.config import Config, ConfigError, load_config
from plugin.crypto import TokenCipher
from plugin.db import Database
from plugin.jobs.queue import InlineQueue, RQQueue
from plugin.logs import configure_logging, get_logger
from plugin.shopify.api_versions import version_status


def create_app(env: Mapping[str, str] | None = None) -> Flask:
    """Build the app from ``env`` (default: the process environment)."""
    try:
        config = load_config(env)
        _check_billing_plans(config)
    except ConfigError as exc:
        if env is None:  # started by `flask` or gunicorn: one line, no traceback
            sys.stderr.write(f"embajador: configuration error: {exc}\n")
            raise SystemExit(2) from None
        raise

    configure_logging(config.log_format)
    _warn_if_api_version_unsupported(config)
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(SECRET_KEY=config.secret_key, MAX_CONTENT_LENGTH=5 * 1024 * 1024,
                      JSON_SORT_KEYS=False, PREFERRED_URL_SCHEME="https")
    queue = RQQueue(config.redis_url) if config.redis_url else InlineQueue()
    app.extensions["embajador"] = AppState(config=config, db=Database(config.database_url, pool_size=config.web_threads),
                                           queue=queue, cipher=TokenCipher(config.encryption_keys))
    _register_hooks(app.extensions["embajador"])
    # The admin's dev login: only when demo mode is asked for explicitly (never by default).
    explicit_mode = (os.environ if env is None else env).get("EMBAJADOR_MODE", "").strip()
    app.config["EMBAJADOR_DEV_LOGIN"] = config.mode == "demo" and explicit_mode == "demo"
    _register_blueprints(app)
    _register_commands(app)
    _register_security(app, config)
    return app


def _check_billing_plans(config: Config) -> None:
    """BILLING_PLANS is checked at start like every variable (one line naming it)."""
    try:
        plans_of(config)
    except BadPlans as exc:
        raise ConfigError("BILLING_PLANS", str(exc)) from None


def _warn_if_api_version_unsupported(config: Config) -> None:
    """One warning line at start when the pinned Admin API version left its support window."""
    status = version_status(config.api_version, date.today())
    if not status.supported:
        get_logger("config").warning(status.describe())


# The factory imports the features inside these functions, as Flask's own tutorial does:
# importing ``plugin.loyalty.rules.money`` must not build the whole web app, and the demo
# and CLI modules import ``create_app`` themselves.

def _register_hooks(app_state: AppState) -> None:
    from emails.content.shop_context import register_loyalty_block  # noqa: PLC0415 - see above
    from plugin.loyalty.email_block import loyalty_block  # noqa: PLC0415
    from plugin.loyalty.metafield_sync import enqueue_syncs_after_commit  # noqa: PLC0415
    from plugin.loyalty.status import ensure_program, warm_program_loading  # noqa: PLC0415
    from plugin.outbound.outbox import enqueue_deliveries_after_commit  # noqa: PLC0415
    from webhooks.processing import JOB as DELIVERY_JOB  # noqa: PLC0415
    from webhooks.processing import import_handlers  # noqa: PLC0415
    from webhooks.rehearsal import rehearse_orders_paid  # noqa: PLC0415
    enqueue_syncs_after_commit(app_state)
    enqueue_deliveries_after_commit(app_state)
    register_loyalty_block(loyalty_block)
    app_state.shop_setup.append(ensure_program)
    app_state.warm_up.extend([import_handlers, warm_program_loading, rehearse_orders_paid])
    app_state.drainable_jobs.add(DELIVERY_JOB)  # a pending inbox row stands for a lost job


def _register_blueprints(app: Flask) -> None:
    from emails.delivery.event_batches import store_event_batch  # noqa: PLC0415 - see above
    from emails.delivery.unsubscribe import bp as unsubscribe_bp  # noqa: PLC0415
    from emails.sendgrid.event_webhook import event_webhook_blueprint  # noqa: PLC0415
    from plugin.admin.views import bp as admin_bp  # noqa: PLC0415
    from plugin.billing.routes import bp as billing_bp  # noqa: PLC0415
    from plugin.feedback.survey_pages import bp as survey_bp  # noqa: PLC0415
    from plugin.open_api.views import bp as open_api_bp  # noqa: PLC0415
    from plugin.referrals.routes import bp as referrals_bp  # noqa: PLC0415
    from plugin.reviews.views import bp as reviews_bp  # noqa: PLC0415
    from plugin.shops.install import bp as install_bp  # noqa: PLC0415
    from plugin.storefront.views import bp as storefront_bp  # noqa: PLC0415
    from plugin.web.health import bp as health_bp  # noqa: PLC0415
    from webhooks.ingress import bp as webhooks_bp  # noqa: PLC0415

    sendgrid_bp = event_webhook_blueprint(store_event_batch)
    for bp in (health_bp, install_bp, webhooks_bp, storefront_bp, admin_bp, referrals_bp, sendgrid_bp,
               survey_bp, unsubscribe_bp, open_api_bp, reviews_bp, billing_bp):
        app.register_blueprint(bp)


def _register_security(app: Flask, config: Config) -> None:
    from plugin.web.json_limits import BoundedJSONProvider  # noqa: PLC0415 - see above
    from plugin.web.proxies import trust_proxies  # noqa: PLC0415
    from plugin.web.security_headers import add_security_headers  # noqa: PLC0415
    from plugin.web.sessions import CookieSessionInterface  # noqa: PLC0415
    from webhooks.ingress import install_fast_path  # noqa: PLC0415
    app.json = BoundedJSONProvider(app)
    app.session_interface = CookieSessionInterface()
    trust_proxies(app, config.trusted_proxies)
    app.after_request(add_security_headers)
    install_fast_path(app)  # outermost: Shopify's deliveries skip the proxy fix-up and Flask


def _register_commands(app: Flask) -> None:
    from plugin.cli import embajador  # noqa: PLC0415 - see above
    app.cli.add_command(embajador)

