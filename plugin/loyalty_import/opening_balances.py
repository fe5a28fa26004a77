"""Opening balances from another loyalty app: a dry run first, then one ledger entry each.

Each matched customer (same email in this shop) gets at most one opening balance ever: the
manual-adjustment entry keyed ``adjust:opening-balance-<customer row id>`` (an INSERT … ON
CONFLICT under the customer's row lock), so a second run — or a second file — writes nothing for
that customer and says so. The tier is set when it names one of the program's tiers and the
customer has none yet (the program's period rules then keep or lower it like any other tier);
the birthday and referral code only fill empty fields.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.loyalty.actions import AdjustmentError, adjust_points
from plugin.loyalty.balances import lock_customer
from plugin.loyalty.rules.ledger import adjust_key
from plugin.loyalty.rules.program import Program
from plugin.loyalty.status import shop_program
from plugin.loyalty_import.rules.csv_rows import ParsedFile, Problem, Row
from plugin.models import Customer, LedgerEntry, Shop

LISTED = 100


def opening_key(customer_id: int) -> str:
    return adjust_key(f"opening-balance-{customer_id}")


def _problems(items: tuple[Problem, ...]) -> list[dict[str, Any]]:
    return [{"line": p.line, "field": p.field, "message": p.message} for p in items[:LISTED]]


def _matches(session: Session, shop: Shop, rows: tuple[Row, ...]) -> dict[str, Customer]:
    emails = [r.email for r in rows]
    found: dict[str, Customer] = {}
    for start in range(0, len(emails), 1000):
        chunk = emails[start:start + 1000]
        for customer in session.execute(Customer.for_shop(shop.id).where(
                func.lower(Customer.email).in_(chunk), Customer.redacted_at.is_(None)).order_by(Customer.id)).scalars():
            found.setdefault(customer.email.lower(), customer)
    return found


def _already(session: Session, shop: Shop, customers: list[Customer]) -> set[int]:
    keys = {opening_key(c.id): c.id for c in customers}
    done: set[int] = set()
    names = list(keys)
    for start in range(0, len(names), 1000):
        rows = session.execute(select(LedgerEntry.key).where(LedgerEntry.shop_id == shop.id,
                                                             LedgerEntry.key.in_(names[start:start + 1000])))
        done |= {keys[k] for k in rows.scalars()}
    return done


def plan(session: Session, shop: Shop, parsed: ParsedFile) -> dict[str, Any]:
    """The dry-run report: what ``apply`` would do, nothing written."""
    customers = _matches(session, shop, parsed.rows)
    program = shop_program(shop)
    tiers = {t.name.lower(): t.name for t in program.tiers}
    matched = [r for r in parsed.rows if r.email in customers]
    unmatched = [r for r in parsed.rows if r.email not in customers]
    done = _already(session, shop, [customers[r.email] for r in matched])
    fresh = [r for r in matched if customers[r.email].id not in done]
    tier_counts = Counter(tiers[r.tier.lower()] for r in fresh if r.tier and r.tier.lower() in tiers)
    unknown = Counter(r.tier for r in fresh if r.tier and r.tier.lower() not in tiers)
    return {
        "columns": parsed.columns,
        "rows": len(parsed.rows) + len(parsed.problems),
        "valid": len(parsed.rows),
        "invalid": len(parsed.problems),
        "problems": _problems(parsed.problems),
        "notes": _problems(parsed.notes),
        "matched": len(matched),
        "unmatched": len(unmatched),
        "unmatched_emails": [r.email for r in unmatched[:LISTED]],
        "already_imported": len(matched) - len(fresh),
        "to_write": len([r for r in fresh if r.points > 0]),
        "points": {"matched": sum(r.points for r in matched), "unmatched": sum(r.points for r in unmatched),
                   "to_write": sum(r.points for r in fresh)},
        "tiers": dict(sorted(tier_counts.items())),
        "unknown_tiers": dict(sorted(unknown.items())),
        "birthdays": sum(1 for r in fresh if r.birthday and customers[r.email].birthday is None),
        "referral_codes": sum(1 for r in fresh if r.referral_code and not customers[r.email].referral_code),
        "tier_warning": _tier_warning(program) if tier_counts else None,
    }


def _tier_warning(program: Program) -> str | None:
    """Imported tiers have no activity here behind them: say how long the program keeps them."""
    if program.tier_period == "rolling_12_months" and program.tier_grace_days == 0:
        return ("tier_period is rolling_12_months without tier_grace_days: an imported tier that the customer's "
                "activity here does not support is lowered at once; set tier_grace_days (e.g. 365) before applying")
    if program.tier_period == "calendar_year":
        return "tier_period is calendar_year: imported tiers are kept until the end of this year"
    return None


def apply(session: Session, shop: Shop, parsed: ParsedFile, source: str, actor: str, now: datetime) -> dict[str, Any]:
    """Write the opening balances (in the caller's transaction); the report adds what was written.

    A customer whose opening balance exists is skipped entirely, so a re-run changes nothing."""
    report = plan(session, shop, parsed)
    customers = _matches(session, shop, parsed.rows)
    done = _already(session, shop, list(customers.values()))
    program = shop_program(shop)
    written: dict[str, Any] = {"entries": 0, "points": 0, "tiers": 0, "birthdays": 0, "referral_codes": 0,
                               "refused": []}
    for row in parsed.rows:
        customer = customers.get(row.email)
        if customer is None or customer.id in done:
            continue
        customer = lock_customer(session, customer.id)
        _fill_profile(session, program, customer, row, now, written)
        if row.points > 0:
            try:
                adjust_points(session, shop, customer, row.points,
                              f"opening balance imported from {source} (line {row.line})", actor, now,
                              adjustment_id=f"opening-balance-{customer.id}")
            except AdjustmentError as exc:
                written["refused"].append({"line": row.line, "field": "points", "message": str(exc)})
                continue
            written["entries"] += 1
            written["points"] += row.points
    report["written"] = written
    return report


def _fill_profile(session: Session, program: Program, customer: Customer, row: Row, now: datetime,
                  written: dict[str, Any]) -> None:
    """The tier when it is one of the program's and higher than the customer's (the program's
    period rules apply from then on); birthday and referral code only where empty."""
    ranks = {t.name.lower(): i for i, t in enumerate(program.tiers)}
    current = next((i for i, t in enumerate(program.tiers) if t.name == customer.tier_name), -1)
    if row.tier and ranks.get(row.tier.lower(), -1) > current:
        customer.tier_name, customer.tier_since = program.tiers[ranks[row.tier.lower()]].name, now
        written["tiers"] += 1
    if row.birthday and customer.birthday is None:
        customer.birthday, customer.birthday_saved_on = row.birthday, None  # the merchant's data: pays normally
        written["birthdays"] += 1
    if row.referral_code and not customer.referral_code:
        taken = session.execute(select(Customer.id).where(Customer.referral_code == row.referral_code)).first()
        if taken is None:
            customer.referral_code = row.referral_code
            written["referral_codes"] += 1
