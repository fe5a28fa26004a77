"""`embajador demo`: the whole story with no service running."""
from __future__ import annotations

import click

from plugin.demo.runner import run_demo


def register(group) -> None:
    group.add_command(demo)


@click.command()
def demo():
    """Install a simulated store, replay signed webhooks, show points, tiers, referrals and emails."""
    run_demo(click.echo)
    click.echo("")
    click.echo("Demo finished.")
