"""Reading other loyalty apps' exports: which column is which, and what each row may hold."""
from __future__ import annotations

from datetime import date

import pytest

from plugin.loyalty_import.rules.csv_rows import ImportFileError, choose_columns, parse, referral_code

TODAY = date(2026, 11, 30)


def test_each_source_reads_its_own_column_names_first():
    headers = ["Email", "Points", "Points Balance", "points_approved", "VIP Tier", "Tier"]
    assert choose_columns(headers, "smile") == {"email": "Email", "points": "Points Balance", "tier": "VIP Tier"}
    assert choose_columns(headers, "loyaltylion") == {"email": "Email", "points": "points_approved", "tier": "Tier"}
    assert choose_columns(headers)["points"] == "Points"  # auto: the plain name first
    assert choose_columns(headers, "smile", {"points": "points approved"})["points"] == "points_approved"


@pytest.mark.parametrize("headers,source,mapping,message", [
    (["email", "name"], "auto", None, "columns: no points column found among email, name; name it with --map points="),
    (["email", "points"], "yotpo", None, "source: must be one of auto, smile, loyaltylion"),
    (["email", "points"], "auto", {"balance": "points"}, "map: unknown field 'balance'"),
    (["email", "points"], "auto", {"points": "Saldo"}, "map: the file has no column 'Saldo'"),
])
def test_files_that_cannot_be_read_say_why(headers, source, mapping, message):
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        choose_columns(headers, source, mapping)


def test_referral_links_give_their_code_or_nothing():
    assert referral_code("http://i.refs.cc/9qr5Pw") == "9QR5PW"
    assert referral_code("https://shop.example/?ref=ana2024/") == "ANA2024"
    assert referral_code("ab") is None and referral_code("x/with space") is None and referral_code(" ") is None


def test_rows_are_checked_one_by_one():
    parsed = parse("email;points;date_of_birth\n"
                   " Ana@Example.COM ;1200.0;1990-05-17T00:00:00Z\n"
                   "bea@example.com;1,200;\n"
                   "ciro@example.com;20000000;\n"
                   "dora@example.com;5;2031-01-01\n"
                   ";;\n", TODAY)
    assert [(r.line, r.email, r.points, r.birthday) for r in parsed.rows] == [
        (2, "ana@example.com", 1200, date(1990, 5, 17)), (5, "dora@example.com", 5, None)]
    assert [(p.line, p.field) for p in parsed.problems] == [(3, "points"), (4, "points")]
    assert "without separators" in parsed.problems[0].message and "10,000,000" in parsed.problems[1].message
    assert [(n.line, n.field) for n in parsed.notes] == [(5, "birthday")]
