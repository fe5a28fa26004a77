"""``embajador outbox`` and ``embajador complaints``: what emails were rendered/sent, and
the complaint cases low survey scores opened."""
from __future__ import annotations

import click
from sqlalchemy import select

from plugin.app_state import state
from plugin.cli.core import require_shop
from plugin.feedback import surveys as feedback
from plugin.models import Complaint, OutboxMessage, Shop, utcnow


def register(group) -> None:
    group.add_command(outbox)
    group.add_command(complaints)


@click.command()
@click.option("--shop", "shop_domain", help="Only this shop (*.myshopify.com).")
@click.option("--limit", default=50, show_default=True, help="Newest messages to show.")
def outbox(shop_domain: str | None, limit: int):
    """List rendered emails: recipient, flow, subject, status."""
    with state().db.transaction() as session:
        query = (select(OutboxMessage, Shop.domain).join(Shop, Shop.id == OutboxMessage.shop_id)
                 .order_by(OutboxMessage.id.desc()).limit(limit))
        if shop_domain:
            query = query.where(OutboxMessage.shop_id == require_shop(session, shop_domain).id)
        rows = session.execute(query).all()
        if not rows:
            click.echo("outbox is empty")
        for msg, domain in reversed(rows):
            status = msg.status + (f" ({msg.reason})" if msg.reason else "")
            click.echo(f"{msg.id:>5}  {domain}  {msg.to_email or '-'}  {msg.flow}  [{msg.locale}]  "
                       f"{msg.subject or '-'}  {status}")


@click.group()
def complaints():
    """Complaint cases opened by low survey scores."""


@complaints.command("list")
@click.option("--shop", "shop_domain", required=True)
@click.option("--status", type=click.Choice(["open", "answered", "closed"]))
def complaints_list(shop_domain: str, status: str | None):
    with state().db.transaction() as session:
        shop = require_shop(session, shop_domain)
        query = Complaint.for_shop(shop.id).order_by(Complaint.id)
        if status:
            query = query.where(Complaint.status == status)
        rows = session.execute(query).scalars().all()
        if not rows:
            click.echo("no complaints")
        for c in rows:
            click.echo(f"#{c.id}  {c.status}  order {c.order_name or c.order_id}  score {c.score}  "
                       f"{(c.comment or '')[:60]}")


@complaints.command("answer")
@click.option("--shop", "shop_domain", required=True)
@click.argument("complaint_id", type=int)
@click.argument("answer")
def complaints_answer(shop_domain: str, complaint_id: int, answer: str):
    _transition(shop_domain, complaint_id, lambda s, shop_id, now: _feedback().answer_complaint(
        s, shop_id, complaint_id, answer, now))


@complaints.command("close")
@click.option("--shop", "shop_domain", required=True)
@click.argument("complaint_id", type=int)
def complaints_close(shop_domain: str, complaint_id: int):
    _transition(shop_domain, complaint_id, lambda s, shop_id, now: _feedback().close_complaint(
        s, shop_id, complaint_id, now))


def _feedback():
    return feedback


def _transition(shop_domain: str, complaint_id: int, action) -> None:
    feedback = _feedback()
    with state().db.transaction() as session:
        shop = require_shop(session, shop_domain)
        try:
            complaint = action(session, shop.id, utcnow())
        except (LookupError, feedback.FeedbackError) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"#{complaint.id} {complaint.status}")
