"""`embajador inbox`: list webhook deliveries, and give dead ones another go.

``inbox retry`` shows each delivery's last error first, then puts it back to ``pending``
with a fresh attempt budget and hands it to a worker (or runs it here in the demo). Every
handler is idempotent under the delivery's row lock, so retrying is safe whatever happened.
"""
from __future__ import annotations

import click
from sqlalchemy import select

from plugin.app_state import state
from plugin.models import WebhookDelivery, utcnow
from plugin.models.inbox import DEAD, FAILED, PENDING, UNHANDLED
from plugin.shopify.shop_domain import normalize_shop_domain

RETRYABLE = (DEAD, FAILED, UNHANDLED)
# webhooks.processing.JOB, by name: the CLI may not import the webhook edge (import contract).
PROCESS_JOB = "webhooks.processing.process_delivery_job"
RETRY_BATCH = 500


def register(group) -> None:
    group.add_command(inbox)


@click.group(invoke_without_command=True)
@click.option("--shop", "domain", default=None)
@click.option("--status", default=None, help="pending, processed, unhandled, ignored, failed, dead")
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def inbox(ctx, domain, status, limit):
    """List webhook deliveries, newest first (`inbox retry` re-runs dead ones)."""
    if ctx.invoked_subcommand is not None:
        return
    with state().db.transaction() as session:
        query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
        if domain:
            query = query.where(WebhookDelivery.shop_domain == normalize_shop_domain(domain))
        if status:
            query = query.where(WebhookDelivery.status == status)
        rows = session.execute(query).scalars().all()
        for row in rows:
            click.echo(_line(row))
        if not rows:
            click.echo("inbox is empty")


@inbox.command("retry")
@click.option("--id", "delivery_id", type=int, default=None, help="one delivery")
@click.option("--status", type=click.Choice(RETRYABLE), default=None, help="every delivery in this state")
@click.option("--shop", "domain", default=None, help="only this shop's deliveries (with --status)")
def retry(delivery_id, status, domain):
    """Retry a dead (or failed/unhandled) delivery: its reason is shown first."""
    if (delivery_id is None) == (status is None):
        raise click.UsageError("give exactly one of --id N or --status dead")
    app_state = state()
    now = utcnow()
    with app_state.db.transaction() as session:
        query = select(WebhookDelivery).with_for_update().order_by(WebhookDelivery.id).limit(RETRY_BATCH)
        if delivery_id is not None:
            query = query.where(WebhookDelivery.id == delivery_id)
        else:
            query = query.where(WebhookDelivery.status == status)
        if domain:
            query = query.where(WebhookDelivery.shop_domain == normalize_shop_domain(domain))
        rows = session.execute(query).scalars().all()
        if delivery_id is not None and not rows:
            raise click.ClickException(f"--id: no delivery {delivery_id}")
        retried = []
        for row in rows:
            click.echo(_line(row))
            refusal = _refusal(row)
            if refusal:
                click.echo(f"        not retried: {refusal}")
                continue
            row.status, row.attempts, row.next_attempt_at, row.processed_at = PENDING, 0, now, None
            retried.append(row.id)
    stamp = now.strftime("r%Y%m%d%H%M%S%f")
    for retried_id in retried:
        app_state.queue.enqueue(PROCESS_JOB, retried_id, job_id=f"delivery-{retried_id}-0-{stamp}")
    click.echo(f"{len(retried)} deliveries queued again" if retried else "nothing to retry")
    if delivery_id is not None and not retried:
        raise SystemExit(1)


def _refusal(row: WebhookDelivery) -> str | None:
    if row.status not in RETRYABLE:
        return f"it is {row.status} (only {', '.join(RETRYABLE)} deliveries are retried)"
    if row.payload is None:
        return "its payload was purged (retention or privacy); ask Shopify to resend or run a reconcile"
    return None


def _line(row: WebhookDelivery) -> str:
    error = f"  ({row.last_error})" if row.last_error else ""
    return (f"{row.id:>6}  {row.received_at:%Y-%m-%d %H:%M:%S}  {row.shop_domain:32} "
            f"{row.topic:24} {row.status:10} attempts={row.attempts}{error}")
