"""Foundation commands: database, shops, tick, import (the inbox lives in plugin/cli/inbox.py)."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import click
from sqlalchemy import select

from plugin.app_state import state
from plugin.jobs.tick import run_tick
from plugin.migrations.runner import upgrade
from plugin.models import Shop, utcnow
from plugin.orders.backfill import import_orders
from plugin.shopify.errors import ShopifyError
from plugin.shopify.oauth import TokenSet
from plugin.shopify.shop_domain import normalize_shop_domain
from plugin.shops.backfill import BackfillFailed, import_customers
from plugin.shops.onboarding import complete_installation, prepare_new_shop
from plugin.shops.tokens import ShopNotInstalled, install_shop


def register(group) -> None:
    group.add_command(db)
    group.add_command(shop)
    group.add_command(tick)
    group.add_command(import_command)


def parse_now(value: str | None) -> datetime:
    if not value:
        return utcnow()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("must be ISO-8601, e.g. 2026-11-23T10:00:00Z", param_hint="--now") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def require_shop(session, domain: str) -> Shop:
    normalized = normalize_shop_domain(domain)
    if normalized is None:
        raise click.ClickException(f"--shop: {domain!r} is not a *.myshopify.com domain")
    found = session.execute(select(Shop).where(Shop.domain == normalized)).scalar_one_or_none()
    if found is None:
        raise click.ClickException(f"--shop: {normalized} is not installed (run `embajador shop add`)")
    return found


@click.group()
def db():
    """Database schema."""


@db.command("upgrade")
def db_upgrade():
    """Apply migrations (Procfile release phase)."""
    upgrade(state().db)
    click.echo("database is at the latest migration")


@click.group()
def shop():
    """Installed shops."""


@shop.command("add")
@click.option("--shop", "domain", required=True, help="your-store.myshopify.com")
@click.option("--token", required=True, help="Admin API access token (custom app)")
@click.option("--offline", is_flag=True, default=False,
              help="do not call Shopify: no profile, no webhook registration (then --currency is required)")
@click.option("--currency", default=None, help="with --offline: the shop currency, e.g. CLP")
@click.option("--locale", default=None, help="with --offline: the shop primary locale, e.g. es (default en)")
@click.option("--name", default=None)
@click.option("--sync/--no-sync", default=None, hidden=True, help="deprecated: fetching the profile is the default")
def shop_add(domain, token, offline, currency, locale, name, sync):
    """Register an installed shop without OAuth (custom apps, tests).

    By default it asks Shopify for the shop's currency, locale and timezone, like an OAuth
    install, and subscribes the webhook topics through the Admin API (a custom app has no
    shopify.app.toml)."""

    app_state = state()
    normalized = normalize_shop_domain(domain)
    if normalized is None:
        raise click.ClickException(f"--shop: {domain!r} is not a *.myshopify.com domain")
    if not token.strip():
        raise click.ClickException("--token: must not be empty")
    if offline and not currency:
        raise click.ClickException("--currency: required with --offline (e.g. --currency CLP), "
                                   "or drop --offline to read it from Shopify")
    if currency and not re.fullmatch(r"[A-Za-z]{3}", currency.strip()):
        raise click.ClickException(f"--currency: {currency!r} is not an ISO 4217 code such as CLP")
    tokens = TokenSet(access_token=token.strip(), scope=app_state.config.scopes, expires_at=None)
    if not offline:
        try:
            complete_installation(app_state, normalized, tokens, utcnow(), register_topics=True)
        except ShopifyError as exc:
            raise click.ClickException(f"could not read the shop from Shopify ({exc}); check --token, "
                                       "or use --offline --currency XXX") from None
    with app_state.db.transaction() as session:
        added = install_shop(session, app_state.cipher, normalized, tokens, utcnow())
        if currency and offline:
            added.currency = currency.strip().upper()
        if locale and offline:
            added.primary_locale = locale[:16]
        if name:
            added.name = name
        prepare_new_shop(app_state, added)
        summary = f"{added.currency}, {added.primary_locale}"
    click.echo(f"shop {normalized} installed ({summary})")


@click.command()
@click.option("--now", "now_text", default=None, help="ISO-8601 instant to run at (default: the clock)")
def tick(now_text):
    """Run every piece of scheduled work that is due (idempotent)."""
    results = run_tick(state(), parse_now(now_text))
    for name, result in results.items():
        click.echo(f"{name}: {result}")


def _with_progress(label: str, failures: tuple, run):
    """Run one bulk import under a progress bar; a failure is one line, not a traceback."""
    with click.progressbar(length=1, label=label) as bar:
        def progress(done, total):
            bar.length = max(total, done, 1)
            bar.update(done - bar.pos)
        try:
            return run(progress)
        except failures as exc:
            raise click.ClickException(f"{label}: failed: {exc}") from None


@click.command("import")
@click.option("--shop", "domain", required=True)
def import_command(domain):
    """Backfill the shop's customers and orders from Shopify (bulk operations) with progress bars."""

    app_state = state()
    with app_state.db.transaction() as session:
        shop_id = require_shop(session, domain).id
    failures = (BackfillFailed, ShopifyError, ShopNotInstalled)
    counts = _with_progress("importing customers", failures,
                            lambda progress: import_customers(app_state, shop_id, on_progress=progress))
    click.echo(f"{counts['imported']} customers imported ({counts['created']} new)")
    orders = _with_progress("importing orders", failures,
                            lambda progress: import_orders(app_state, shop_id, on_progress=progress))
    click.echo(f"{orders['imported']} orders imported")
