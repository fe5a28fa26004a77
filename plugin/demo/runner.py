"""Runs the demo chapters against a freshly reset demo shop."""
from __future__ import annotations

import importlib
import logging
import os

from sqlalchemy import select

from plugin import create_app
from plugin.customers.privacy import erase_shop
from plugin.demo.fake_shopify import FakeShopify
from plugin.demo.stage import DEMO_SHOP, Stage, serve
from plugin.migrations.runner import upgrade
from plugin.models import Shop, utcnow

# Each capability adds its chapter here, in story order.
CHAPTERS = (
    "plugin.demo.chapter_install",
    "plugin.demo.chapter_customers",
    "plugin.demo.chapter_loyalty",
    "plugin.demo.chapter_emails",
    "plugin.demo.chapter_checkouts",
    "plugin.demo.chapter_referrals",
    "plugin.demo.chapter_inbox",
    "plugin.demo.chapter_uninstall",
)


def run_demo(echo) -> None:

    fake = FakeShopify(api_key="", api_secret="", shop_name="Tienda Embajador", currency="CLP", locale="es")
    fake_origin, fake_server = fake.serve()
    env = dict(os.environ, SHOPIFY_ADMIN_ORIGIN=fake_origin)
    env.setdefault("EMBAJADOR_MODE", "demo")
    app = create_app(env)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("embajador").setLevel(logging.WARNING)
    fake.api_key, fake.api_secret = app.extensions["embajador"].config.api_key, app.extensions["embajador"].config.api_secret
    base_url, app_server = serve(app)
    try:
        with app.app_context():
            app_state = app.extensions["embajador"]
            upgrade(app_state.db)
            with app_state.db.transaction() as session:
                old = session.execute(select(Shop).where(Shop.domain == DEMO_SHOP)).scalar_one_or_none()
                if old is not None:
                    erase_shop(session, old)
            echo(f"Embajador demo — app on {base_url}, fake Shopify on {fake_origin}, "
                 f"database {app_state.db.engine.url.render_as_string(hide_password=True)}, "
                 f"jobs {'RQ' if app_state.config.redis_url else 'in-process'}")
            stage = Stage(app=app, base_url=base_url, fake=fake, now=utcnow(), echo=echo)
            for chapter in CHAPTERS:
                importlib.import_module(chapter).run(stage)
    finally:
        app_server.shutdown()
        fake_server.shutdown()
