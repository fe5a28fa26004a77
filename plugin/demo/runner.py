"""Runs the demo chapters against a freshly reset demo shop."""
from __future__ import annotations

import importlib
import logging
import os
import threading

from sqlalchemy import select

from plugin import create_app
from plugin.admin.dev_login import dev_login_url, enable_dev_login
from plugin.customers.privacy import erase_shop
from plugin.demo.fake_shopify import FakeShopify
from plugin.demo.stage import DEMO_SHOP, Stage, serve
from plugin.migrations.runner import upgrade
from plugin.models import Base, Shop, utcnow

# Each capability adds its chapter here, in story order.
CHAPTERS = (
    "plugin.demo.chapter_install",
    "plugin.demo.chapter_customers",
    "plugin.demo.chapter_loyalty",
    "plugin.demo.chapter_emails",
    "plugin.demo.chapter_checkouts",
    "plugin.demo.chapter_referrals",
    "plugin.demo.chapter_open_api",
    "plugin.demo.chapter_inbox",
    "plugin.demo.chapter_whatif",
    "plugin.demo.chapter_uninstall",
)
UNINSTALL = "plugin.demo.chapter_uninstall"


def wait_in_admin(echo, base_url: str, secret_key: str) -> None:
    """Print the admin's dev-login link and keep serving until Ctrl-C."""
    echo("")
    echo("== The merchant's admin is open (dev login, 127.0.0.1 only)")
    echo(f"   {dev_login_url(base_url, DEMO_SHOP, secret_key)}")
    echo("   Press Ctrl-C to stop.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        echo("")


def run_demo(echo, serve_admin: bool = False, port: int = 5000) -> None:
    """Tell the story; with ``serve_admin`` keep serving the admin (dev login) until Ctrl-C."""

    fake = FakeShopify(api_key="", api_secret="", shop_name="Tienda Embajador", currency="CLP", locale="es")
    fake_origin, fake_server = fake.serve()
    # The stage sends each demo visitor through a pretend proxy (X-Forwarded-For): one hop.
    env = dict(os.environ, SHOPIFY_ADMIN_ORIGIN=fake_origin, TRUSTED_PROXIES="1")
    env.setdefault("EMBAJADOR_MODE", "demo")
    app = create_app(env)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("embajador").setLevel(logging.WARNING)
    fake.api_key, fake.api_secret = app.extensions["embajador"].config.api_key, app.extensions["embajador"].config.api_secret
    enable_dev_login(app)
    base_url, app_server = serve(app, port if serve_admin else 0)
    try:
        with app.app_context():
            app_state = app.extensions["embajador"]
            upgrade(app_state.db)
            if not app_state.db.is_postgres:
                # The single initial migration is regenerated in place as the schema grows, so a
                # demo SQLite file from an earlier checkout lacks the newer tables: add them.
                Base.metadata.create_all(app_state.db.engine)
            with app_state.db.transaction() as session:
                old = session.execute(select(Shop).where(Shop.domain == DEMO_SHOP)).scalar_one_or_none()
                if old is not None:
                    erase_shop(session, old)
            echo(f"Embajador demo — app on {base_url}, fake Shopify on {fake_origin}, "
                 f"database {app_state.db.engine.url.render_as_string(hide_password=True)}, "
                 f"jobs {'RQ' if app_state.config.redis_url else 'in-process'}")
            stage = Stage(app=app, base_url=base_url, fake=fake, now=utcnow(), echo=echo)
            for chapter in CHAPTERS:
                if serve_admin and chapter == UNINSTALL:
                    continue  # the merchant keeps the app to look around the admin
                importlib.import_module(chapter).run(stage)
            if serve_admin:
                wait_in_admin(echo, base_url, app_state.config.secret_key)
    finally:
        app_server.shutdown()
        fake_server.shutdown()
