"""Loyalty commands: the program document, points of one customer, ledger verification."""
from __future__ import annotations

import json
import sys
from decimal import Decimal

import click
from sqlalchemy import select

from plugin.app_state import state
from plugin.cli.core import require_shop
from plugin.customers.lookup import customer_by_reference, ledger_rows
from plugin.loyalty.actions import AdjustmentError, adjust_points
from plugin.loyalty.balances import balance_drift, lock_customer, rebuild_balance
from plugin.loyalty.birthdays import BirthdayError, set_birthday
from plugin.loyalty.rules.program import ProgramError, dump_program, load_program
from plugin.loyalty.status import shop_program
from plugin.loyalty.tier_sync import shop_local
from plugin.models import Customer, utcnow
from plugin.whatif.history import compare_programs
from plugin.whatif.report import text_lines
from plugin.whatif.runs import DraftRejected, load_draft


def register(group) -> None:
    group.add_command(program)
    group.add_command(points)


@click.group()
def program():
    """The loyalty program document (JSON)."""


@program.command("import")
@click.option("--shop", "domain", required=True)
@click.argument("file", type=click.File("r"))
def program_import(domain, file):
    """Validate FILE and make it the shop's program (nothing is written if it is invalid)."""
    try:
        doc = json.load(file, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{file.name}: not JSON ({exc.msg} at line {exc.lineno})") from None
    try:
        loaded = load_program(doc)
    except ProgramError as exc:
        raise click.ClickException(f"{exc.path}: {exc.message}") from None
    with state().db.transaction() as session:
        shop = require_shop(session, domain)
        if loaded.currency != shop.currency:
            raise click.ClickException(
                f"currency: the program is in {loaded.currency}, the shop sells in {shop.currency}; write the "
                f"program in {shop.currency}, or if the shop's currency is wrong re-run `embajador shop add "
                f"--shop {shop.domain} --token …` to read it from Shopify (or pass --offline --currency "
                f"{loaded.currency})")
        shop.program = dump_program(loaded)
    click.echo(f"program imported for {shop.domain}: {len(loaded.tiers)} tiers, {len(loaded.rewards)} rewards")


@program.command("whatif")
@click.option("--shop", "domain", required=True)
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--processes", type=click.IntRange(0, 64), default=None,
              help="processes to split the customers across (default WHATIF_PROCESSES; 0: one per CPU)")
@click.argument("file", type=click.File("r"))
def program_whatif(domain, as_json, processes, file):
    """Simulate the draft program FILE on the shop's order history next to the live program
    (nothing is written)."""
    try:
        doc = json.load(file, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{file.name}: not JSON ({exc.msg} at line {exc.lineno})") from None
    with state().db.transaction() as session:
        shop = require_shop(session, domain)
        try:
            draft = load_draft(shop, doc)
        except DraftRejected as exc:
            raise click.ClickException(f"{exc.path}: {exc.message}") from None
        with click.progressbar(length=1, label="replaying orders", file=sys.stderr,
                               hidden=as_json or not sys.stderr.isatty()) as bar:
            def progress(done, total):
                bar.length = max(total, 1)
                bar.update(done - bar.pos)
            report = compare_programs(session, shop, draft, utcnow(), on_progress=progress,
                                      processes=state().config.whatif_processes if processes is None else processes)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for line in text_lines(report):
            click.echo(line)


@program.command("export")
@click.option("--shop", "domain", required=True)
def program_export(domain):
    """Print the shop's program as JSON."""
    with state().db.transaction() as session:
        shop = require_shop(session, domain)
        click.echo(json.dumps(dump_program(shop_program(shop)), indent=2, ensure_ascii=False))


@click.group()
def points():
    """Customers' points."""


def _customer(session, shop, reference) -> Customer:
    customer = customer_by_reference(session, shop, reference)
    if customer is None:
        raise click.ClickException(f"--customer: no customer {reference!r} in {shop.domain}")
    return customer


@points.command("adjust")
@click.option("--shop", "domain", required=True)
@click.option("--customer", "reference", required=True, help="Shopify customer id or email")
@click.option("--points", "amount", type=int, required=True, help="points to add (negative to remove)")
@click.option("--reason", required=True, help="why (kept in the ledger)")
def points_adjust(domain, reference, amount, reason):
    """Manual correction with a required reason."""
    with state().db.transaction() as session:
        shop = require_shop(session, domain)
        customer = _customer(session, shop, reference)
        try:
            adjust_points(session, shop, customer, amount, reason, "cli", utcnow())
        except AdjustmentError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"adjusted {amount:+d} points: available {customer.points_available}, "
                   f"pending {customer.points_pending}")


@points.command("birthday")
@click.option("--shop", "domain", required=True)
@click.option("--customer", "reference", required=True, help="Shopify customer id or email")
@click.option("--date", "value", required=True, help="YYYY-MM-DD")
def points_birthday(domain, reference, value):
    """Set or correct a customer's birthday (birthday points are paid once a year on it)."""
    with state().db.transaction() as session:
        shop = require_shop(session, domain)
        customer = _customer(session, shop, reference)
        try:
            born = set_birthday(customer, value, shop_local(shop, utcnow()).date(), by_merchant=True)
        except BirthdayError as exc:
            raise click.ClickException(str(exc).replace("birthday:", "--date:", 1)) from None
        click.echo(f"birthday of customer {customer.shopify_id or customer.email} set to {born.isoformat()}")


@points.command("show")
@click.option("--shop", "domain", required=True)
@click.option("--customer", "reference", required=True, help="Shopify customer id or email")
def points_show(domain, reference):
    """Balance, tier and ledger of one customer."""
    with state().db.transaction() as session:
        shop = require_shop(session, domain)
        customer = _customer(session, shop, reference)
        click.echo(f"available {customer.points_available}  pending {customer.points_pending}  "
                   f"tier {customer.tier_name or '-'}")
        for row in ledger_rows(session, customer):
            click.echo(f"{row['occurred_at'][:19]}  {row['kind']:13} {row['available']:+7d} {row['pending']:+7d}  "
                       f"{row['reason']}")


@points.command("verify")
@click.option("--shop", "domain", required=True)
@click.option("--repair", is_flag=True, help="reset drifting cached balances from the ledger")
def points_verify(domain, repair):
    """Prove every cached balance equals the sum of its ledger entries."""
    drifting = 0
    with state().db.transaction() as session:
        shop = require_shop(session, domain)
        ids = session.execute(select(Customer.id).where(Customer.shop_id == shop.id).order_by(Customer.id)).scalars()
        checked = 0
        for customer_id in list(ids):
            customer = lock_customer(session, customer_id)
            drift = balance_drift(session, customer)
            checked += 1
            if drift.available or drift.pending:
                drifting += 1
                click.echo(f"customer {customer.shopify_id or customer.id}: cached minus ledger = "
                           f"available {drift.available:+d}, pending {drift.pending:+d}"
                           + ("  → repaired" if repair else ""))
                if repair:
                    rebuild_balance(session, customer)
    click.echo(f"{checked} customers checked, {drifting} drifting")
    if drifting and not repair:
        raise SystemExit(1)
