"""``embajador referrals list|approve|reject``: the merchant's referral review queue."""
from __future__ import annotations

import click

from plugin.app_state import state
from plugin.cli.core import require_shop
from plugin.models import utcnow
from plugin.referrals.review import ReviewError, approve, list_referrals, reject


def register(group) -> None:
    group.add_command(referrals)


@click.group()
def referrals():
    """Referrals: review held ones, approve or reject."""


@referrals.command("list")
@click.option("--shop", "domain", required=True, help="the shop's myshopify.com domain")
@click.option("--status", type=click.Choice(["pending", "successful", "held", "rejected", "cancelled"]))
def list_command(domain: str, status: str | None):
    """One line per referral, newest first, with the reasons a held one was held."""
    with state().db.transaction() as session:
        rows = list_referrals(session, require_shop(session, domain), status)
    if not rows:
        click.echo("no referrals")
    for row in rows:
        reasons = "; ".join(f"{r['code']}: {r['text']}" for r in row["hold_reasons"])
        click.echo(f"#{row['id']} {row['status']:10} advocate={row['advocate']} friend={row['friend'] or row['friend_email']} "
                   f"order={row['friend_order_id']} points={row['points_awarded']}" + (f" held: {reasons}" if reasons else ""))


@referrals.command("approve")
@click.option("--shop", "domain", required=True)
@click.argument("referral_id", type=int)
def approve_command(domain: str, referral_id: int):
    """Approve a held referral: the advocate gets the points (once)."""
    with state().db.transaction() as session:
        try:
            row = approve(session, require_shop(session, domain), referral_id, "cli", utcnow())
        except ReviewError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"referral #{row['id']} approved: {row['points_awarded']} points to {row['advocate']}")


@referrals.command("reject")
@click.option("--shop", "domain", required=True)
@click.option("--reason", required=True, help="why (kept with the referral)")
@click.argument("referral_id", type=int)
def reject_command(domain: str, referral_id: int, reason: str):
    """Reject a held referral: no points for the advocate."""
    with state().db.transaction() as session:
        try:
            row = reject(session, require_shop(session, domain), referral_id, "cli", reason, utcnow())
        except ReviewError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"referral #{row['id']} rejected: {reason}")
