"""``embajador checkouts stats --shop X``: does the abandoned-checkout series pay?"""
from __future__ import annotations

import click

from plugin.app_state import state
from plugin.cli.core import require_shop
from plugin.recovery.analytics import recovery_stats


def register(group) -> None:
    group.add_command(checkouts)


@click.group()
def checkouts():
    """Abandoned-checkout recovery."""


@checkouts.command("stats")
@click.option("--shop", "domain", required=True, help="your-store.myshopify.com")
def checkouts_stats(domain):
    """Recovery rate and recovered revenue per email step."""
    with state().db.transaction() as session:
        stats = recovery_stats(session, require_shop(session, domain))
    click.echo(f"checkouts {stats['checkouts']}, emailed {stats['emailed']}, recovered {stats['recovered']} "
               f"({stats['recovery_rate']} %), recovered revenue {stats['recovered_revenue']} {stats['currency']}")
    for row in stats["steps"]:
        click.echo(f"  step {row['step']}: sent {row['sent']}, recovered {row['recovered']} "
                   f"({row['recovery_rate']} %), revenue {row['recovered_revenue']} {stats['currency']}")
