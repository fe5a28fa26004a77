"""``embajador webhooks add|list|deliveries|enable|remove``: the merchant's outbound endpoints
from the terminal (the same service as the admin's Webhooks page)."""
from __future__ import annotations

import click

from plugin.app_state import state
from plugin.cli.core import require_shop
from plugin.models import utcnow
from plugin.outbound import endpoints
from plugin.outbound.rules.events import TOPICS


def register(group) -> None:
    group.add_command(webhooks)


@click.group()
def webhooks():
    """Outbound webhooks: signed events to the merchant's own URLs."""


@webhooks.command("add")
@click.option("--shop", "domain", required=True, help="the shop's myshopify.com domain")
@click.option("--url", required=True, help="https URL (http://127.0.0.1:PORT/ in demo and test mode)")
@click.option("--topic", "topics", multiple=True, type=click.Choice(TOPICS), help="repeat; default: every topic")
def add_command(domain: str, url: str, topics: tuple[str, ...]):
    """Register an endpoint and print its signing secret (shown once)."""
    app_state = state()
    with app_state.db.transaction() as session:
        shop = require_shop(session, domain)
        try:
            registered = endpoints.register(session, app_state, shop.id, url, list(topics or TOPICS), utcnow())
        except endpoints.EndpointError as exc:
            raise click.ClickException(str(exc)) from None
        endpoint_id = registered.endpoint.id
    click.echo(f"endpoint #{endpoint_id} {url} topics={','.join(topics or TOPICS)}")
    click.echo(f"secret: {registered.secret}")


@webhooks.command("list")
@click.option("--shop", "domain", required=True)
def list_command(domain: str):
    """Endpoints with their state and last answer."""
    with state().db.transaction() as session:
        shop = require_shop(session, domain)
        last = endpoints.last_deliveries(session, shop.id)
        rows = [endpoints.describe(e, last.get(e.id)) for e in endpoints.list_endpoints(session, shop.id)]
    if not rows:
        click.echo("no endpoints")
    for row in rows:
        answer = row["last_delivery"]
        seen = f"last={answer['last_status_code'] or answer['last_error']}" if answer else "last=-"
        state_text = "enabled" if row["enabled"] else f"disabled ({row['disabled_reason']})"
        click.echo(f"#{row['id']} {row['url']} {state_text} topics={','.join(row['topics'])} {seen}")


@webhooks.command("deliveries")
@click.option("--shop", "domain", required=True)
def deliveries_command(domain: str):
    """The last 100 deliveries, newest first."""
    with state().db.transaction() as session:
        rows = endpoints.recent_deliveries(session, require_shop(session, domain).id)
    if not rows:
        click.echo("no deliveries")
    for d in rows:
        click.echo(f"#{d['id']} {d['event_id']} {d['topic']} {d['status']} attempts={d['attempts']} "
                   f"http={d['last_status_code'] or '-'}" + (f" error={d['last_error']}" if d["last_error"] else ""))


@webhooks.command("enable")
@click.option("--shop", "domain", required=True)
@click.argument("endpoint_id", type=int)
def enable_command(domain: str, endpoint_id: int):
    """Switch a disabled endpoint back on (its failure streak starts over)."""
    app_state = state()
    with app_state.db.transaction() as session:
        try:
            endpoints.change(session, app_state, require_shop(session, domain).id, endpoint_id, enabled=True)
        except endpoints.EndpointNotFound:
            raise click.ClickException(f"no endpoint #{endpoint_id} in {domain}") from None
    click.echo(f"endpoint #{endpoint_id} enabled")


@webhooks.command("remove")
@click.option("--shop", "domain", required=True)
@click.argument("endpoint_id", type=int)
def remove_command(domain: str, endpoint_id: int):
    """Delete an endpoint and its delivery history."""
    with state().db.transaction() as session:
        try:
            endpoints.remove(session, require_shop(session, domain).id, endpoint_id)
        except endpoints.EndpointNotFound:
            raise click.ClickException(f"no endpoint #{endpoint_id} in {domain}") from None
    click.echo(f"endpoint #{endpoint_id} removed")
