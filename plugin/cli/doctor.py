"""``embajador doctor``: what an operator should fix, one line each; exit 1 when anything is wrong."""
from __future__ import annotations

from datetime import date

import click
from sqlalchemy import select

from plugin.app_state import state
from plugin.models import Shop
from plugin.shopify.api_versions import version_status

# Scopes the features call for (README, Configuration); shopLocales needs read_locales.
NEEDED_SCOPES = ("read_customers", "write_customers", "read_orders", "write_discounts", "read_locales")


def register(group) -> None:
    group.add_command(doctor)


def findings(app_state, today: date) -> list[tuple[bool, str]]:
    """(ok, message) per check: API version, scopes, shops that need re-authorisation."""
    config = app_state.config
    status = version_status(config.api_version, today)
    found = [(status.supported, status.describe())]
    missing = [s for s in NEEDED_SCOPES if s not in config.scopes.split(",")]
    found.append((not missing, "SHOPIFY_SCOPES has every scope the features need" if not missing
                  else f"SHOPIFY_SCOPES lacks {', '.join(missing)}"))
    with app_state.db.transaction() as session:
        stuck = session.execute(select(Shop.domain, Shop.needs_reauth_at).where(
            Shop.installed.is_(True), Shop.needs_reauth_at.is_not(None)).order_by(Shop.domain)).all()
    for domain, since in stuck:
        found.append((False, f"{domain} needs re-authorisation since {since:%Y-%m-%d %H:%M} UTC: Shopify refused "
                             "to refresh its token; it recovers when the merchant opens the app in the admin"))
    if not stuck:
        found.append((True, "no shop needs re-authorisation"))
    return found


@click.command()
def doctor():
    """Check the Shopify API version, scopes and shops that need re-authorisation."""
    results = findings(state(), date.today())
    for ok, message in results:
        click.echo(f"{'ok  ' if ok else 'FAIL'}  {message}")
    if not all(ok for ok, _ in results):
        raise SystemExit(1)
