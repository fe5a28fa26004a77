"""`embajador demo`: the whole story with no service running."""
from __future__ import annotations

import click

from plugin.demo.runner import run_demo


def register(group) -> None:
    group.add_command(demo)


@click.command()
@click.option("--serve", "serve_admin", is_flag=True,
              help="after the story, keep serving the admin with a dev login (127.0.0.1) until Ctrl-C")
@click.option("--port", default=5000, show_default=True, help="port for --serve (APP_URL's default)")
def demo(serve_admin, port):
    """Install a simulated store, replay signed webhooks, show points, tiers, referrals and emails."""
    run_demo(click.echo, serve_admin=serve_admin, port=port)
    click.echo("")
    click.echo("Demo finished.")
