"""``embajador import-loyalty``: opening balances from another loyalty app's CSV, dry run first."""
from __future__ import annotations

import csv
import json

import click

from plugin.app_state import state
from plugin.cli.core import require_shop
from plugin.loyalty.tier_sync import shop_local
from plugin.loyalty_import.opening_balances import apply, plan
from plugin.loyalty_import.rules.csv_rows import FIELDS, SOURCES, ImportFileError, parse
from plugin.models import utcnow


def register(group) -> None:
    group.add_command(import_loyalty)


def _mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        field, sep, header = pair.partition("=")
        if not sep or not header.strip():
            raise click.ClickException(f"--map: write FIELD=Column header (fields: {', '.join(FIELDS)}), got {pair!r}")
        mapping[field.strip()] = header.strip()
    return mapping


@click.command("import-loyalty")
@click.option("--shop", "domain", required=True)
@click.option("--source", type=click.Choice(SOURCES), default="auto", show_default=True,
              help="whose export this is (column names)")
@click.option("--map", "pairs", multiple=True, metavar="FIELD=HEADER",
              help=f"use this column for a field ({', '.join(FIELDS)}); repeatable")
@click.option("--apply", "do_apply", is_flag=True, help="write the opening balances (default: dry run only)")
@click.option("--dry-run", "dry_run", is_flag=True, help="only report (the default)")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
def import_loyalty(domain, source, pairs, do_apply, dry_run, as_json, file):
    """Import points balances (and tier, referral code, birthday) exported from another loyalty
    app: a dry run reports matched/unmatched customers and totals; --apply writes one opening
    balance per customer, once (running it again writes nothing)."""
    if do_apply and dry_run:
        raise click.ClickException("--apply and --dry-run: choose one")
    try:
        text = file.read()
    except UnicodeDecodeError:
        raise click.ClickException(f"{file.name}: not UTF-8 text; save the export as CSV UTF-8") from None
    with state().db.transaction() as session:
        shop = require_shop(session, domain)
        try:
            parsed = parse(text, shop_local(shop, utcnow()).date(), source, _mapping(pairs))
        except (ImportFileError, csv.Error) as exc:
            raise click.ClickException(str(exc)) from None
        label = source if source != "auto" else "another loyalty app"
        report = apply(session, shop, parsed, label, "cli:import-loyalty", utcnow()) if do_apply \
            else plan(session, shop, parsed)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    for line in summary_lines(report, applied=do_apply):
        click.echo(line)


def summary_lines(report: dict, applied: bool) -> list[str]:
    points = report["points"]
    lines = ["columns: " + ", ".join(f"{f}={h!r}" for f, h in report["columns"].items()),
             f"rows: {report['rows']} ({report['valid']} valid, {report['invalid']} refused)",
             f"matched customers: {report['matched']} ({points['matched']} points); "
             f"unmatched: {report['unmatched']} ({points['unmatched']} points)",
             f"already imported: {report['already_imported']}; to write: {report['to_write']} opening balances, "
             f"{points['to_write']} points",
             f"tiers: {report['tiers'] or '-'}; unknown tiers: {report['unknown_tiers'] or '-'}; "
             f"birthdays: {report['birthdays']}; referral codes: {report['referral_codes']}"]
    if report["tier_warning"]:
        lines.append(f"warning: {report['tier_warning']}")
    lines += [f"  line {p['line']}: {p['field']}: {p['message']}" for p in report["problems"]]
    lines += [f"  note, line {p['line']}: {p['field']}: {p['message']}" for p in report["notes"]]
    lines += [f"  unmatched: {e}" for e in report["unmatched_emails"]]
    if applied:
        w = report["written"]
        lines.append(f"written: {w['entries']} opening balances, {w['points']} points, {w['tiers']} tiers, "
                     f"{w['birthdays']} birthdays, {w['referral_codes']} referral codes")
        lines += [f"  refused, line {p['line']}: {p['message']}" for p in w["refused"]]
    else:
        lines.append("dry run: nothing written (run again with --apply)")
    return lines
