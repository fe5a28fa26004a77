"""`embajador demo`: the whole story with no service running."""
from __future__ import annotations

import click


def register(group) -> None:
    group.add_command(demo)


@click.command()
def demo():
    """Install a simulated store, replay signed webhooks, show points, tiers, referrals and emails."""
    from plugin.demo.runner import run_demo
    run_demo(click.echo)
    click.echo("")
    click.echo("Demo finished.")
