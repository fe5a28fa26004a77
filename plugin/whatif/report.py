"""The what-if comparison as a plain-text table for the terminal."""
from __future__ import annotations

from decimal import Decimal
from typing import Any


def _money(value: dict[str, str]) -> str:
    return f"{value['amount']} {value['currency']}"


def _delta(live: Any, draft: Any) -> str:
    difference = Decimal(str(draft)) - Decimal(str(live))
    return f"{difference:+}"


def text_lines(report: dict[str, Any]) -> list[str]:
    """Rows a merchant reads top to bottom: totals, liability, months, tiers, tier changes."""
    live, draft = report["live"], report["draft"]
    rows = [("points issued", live["issued"], draft["issued"]),
            ("expected redemptions (points)", live["expected_redeemed"], draft["expected_redeemed"]),
            ("expected redemptions (money)", live["expected_redemptions"]["amount"],
             draft["expected_redemptions"]["amount"]),
            ("expired", live["expired"], draft["expired"]),
            ("outstanding points", live["outstanding"], draft["outstanding"]),
            ("point value", live["point_value"], draft["point_value"]),
            (f"liability ({report['currency']})", live["liability"]["amount"], draft["liability"]["amount"])]
    lines = [f"what-if on {report['orders']} orders of {report['customers']} customers "
             f"(observed redemption rate {report['redemption_rate']})", ""]
    lines += _table(("", "live", "draft", "change"), [(n, a, b, _delta(a, b)) for n, a, b in rows])
    lines += ["", f"liability change: {_money(report['liability_change'])}", "", "points issued per month"]
    lines += _table(("month", "live", "draft", "change"),
                    [(m["month"], m["live"], m["draft"], _delta(m["live"], m["draft"])) for m in report["months"]])
    lines += ["", "tier distribution"]
    lines += _table(("tier", "live", "draft", "change"),
                    [(t["tier"], t["live"], t["draft"], _delta(t["live"], t["draft"])) for t in report["tiers"]])
    changes = report["tier_changes"]
    lines += ["", f"customers who would change tier: {changes['count']}"]
    lines += _table(("from", "to", "customers"), [(t["from"], t["to"], t["customers"]) for t in changes["transitions"]])
    return lines


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    cells = [tuple(str(c) for c in header)] + [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    out = []
    for n, row in enumerate(cells):
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out
