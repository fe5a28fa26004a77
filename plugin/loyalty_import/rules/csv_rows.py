"""Reading another loyalty app's export: which column is which, and each row checked.

Column names, as the vendors document them (looked up 2026-11-30):

- Smile (https://dev.smile.io/ui/objects/customer): a customer has ``email``,
  ``points_balance``, ``vip_tier``, ``referral_url`` and ``date_of_birth`` (a year of 1004 means
  "day and month only"). Smile's own points import takes ``email`` and ``points``
  (https://help.smile.io/en/articles/4036233-import-points-with-a-csv-file). Smile's help
  centre does not publish the header row of its customer export file, so the names above are
  the fields it documents; a file with other headers needs ``--map``.
- LoyaltyLion (https://help.loyaltylion.com/articles/5367139-export): the customer export's
  columns can be renamed by the merchant and their default names are not published. Its
  documented point states are approved (spendable), pending, spent, total and lifetime
  (https://help.loyaltylion.com/en/articles/6062006-how-points-work); we take the *approved*
  points as the opening balance (pending points were not yet promised) and recognise
  ``points_approved`` / ``approved_points``. Anything else: ``--map``.

Headers are compared case-insensitively with spaces, dashes and dots read as ``_``
("Points Balance" = ``points_balance``).
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

FIELDS = ("email", "points", "tier", "referral_code", "birthday")
REQUIRED = ("email", "points")
MAX_POINTS = 10_000_000  # one opening balance, like one manual adjustment (plugin/loyalty/actions.py)
MAX_ROWS = 200_000
EARLIEST_BIRTHDAY = date(1900, 1, 1)
SMILE_NO_YEAR = 1004

# The first header found wins: a vendor's own name first, then common spellings.
PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "smile": {"email": ("email",), "points": ("points_balance", "points"), "tier": ("vip_tier", "vip_tier_name"),
              "referral_code": ("referral_url", "referral_code"), "birthday": ("date_of_birth", "birthday")},
    "loyaltylion": {"email": ("email",), "points": ("points_approved", "approved_points"),
                    "tier": ("tier", "tier_name", "current_tier"),
                    "referral_code": ("referral_link", "referral_url", "referral_code"),
                    "birthday": ("birthday", "date_of_birth")},
}
SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": ("email", "email_address", "customer_email", "e_mail"),
    "points": ("points", "points_balance", "points_approved", "approved_points", "balance", "points_available",
               "current_points"),
    "tier": ("tier", "vip_tier", "vip_tier_name", "tier_name", "current_tier"),
    "referral_code": ("referral_code", "referral_url", "referral_link"),
    "birthday": ("birthday", "date_of_birth", "birth_date", "dob"),
}
SOURCES = ("auto", *PRESETS)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CODE = re.compile(r"^[A-Z0-9]{4,32}$")


class ImportFileError(ValueError):
    """The file as a whole cannot be read (no header, a required column missing…)."""


@dataclass(frozen=True)
class Row:
    line: int
    email: str
    points: int
    tier: str | None = None
    referral_code: str | None = None
    birthday: date | None = None


@dataclass(frozen=True)
class Problem:
    line: int
    field: str
    message: str


@dataclass(frozen=True)
class ParsedFile:
    columns: dict[str, str]  # field → header used
    rows: tuple[Row, ...]
    problems: tuple[Problem, ...]  # rows refused (not imported)
    notes: tuple[Problem, ...]  # optional values ignored on rows that are imported


def header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower().lstrip("\ufeff")).strip("_")


def choose_columns(headers: list[str], source: str = "auto", mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """Field → header for this file; ImportFileError names what is missing or unknown."""
    if source not in SOURCES:
        raise ImportFileError(f"source: must be one of {', '.join(SOURCES)} (got {source!r})")
    by_key = {header_key(h): h for h in headers if h and h.strip()}
    chosen: dict[str, str] = {}
    for field, header in (mapping or {}).items():
        if field not in FIELDS:
            raise ImportFileError(f"map: unknown field {field!r} (fields: {', '.join(FIELDS)})")
        if header_key(header) not in by_key:
            raise ImportFileError(f"map: the file has no column {header!r} (columns: {', '.join(headers)})")
        chosen[field] = by_key[header_key(header)]
    names = PRESETS.get(source, SYNONYMS)
    for field in FIELDS:
        if field not in chosen:
            found = next((by_key[n] for n in names[field] if n in by_key), None)
            if found is not None:
                chosen[field] = found
    missing = [f for f in REQUIRED if f not in chosen]
    if missing:
        raise ImportFileError(f"columns: no {' or '.join(missing)} column found among {', '.join(headers) or 'none'}; "
                              f"name it with --map {missing[0]}=<header>")
    return chosen


def _points(raw: str) -> int:
    text = raw.strip()
    if not re.fullmatch(r"-?\d+(\.0+)?", text):
        raise ValueError(f"{text!r} is not a whole number of points (write 52620, without separators)")
    value = int(text.split(".")[0])
    if value < 0:
        raise ValueError("must be 0 or more")
    if value > MAX_POINTS:
        raise ValueError(f"at most {MAX_POINTS:,} points in one opening balance")
    return value


def referral_code(raw: str) -> str | None:
    """The code in a referral link or code (``http://i.refs.cc/9qr5Pw`` → ``9QR5PW``)."""
    text = raw.strip().rstrip("/")
    if not text:
        return None
    tail = re.split(r"[/=?#]", text)[-1].upper()
    return tail if _CODE.fullmatch(tail) else None


def birthday(raw: str, today: date) -> date | None:
    """``YYYY-MM-DD`` (the date part of a timestamp too); None when empty. ValueError explains."""
    text = raw.strip()[:10]
    if not text:
        return None
    if text.startswith(f"{SMILE_NO_YEAR}-"):
        raise ValueError("day and month only (Smile writes the year 1004); a birthday needs its year here")
    born = date.fromisoformat(text)
    if born > today or born < EARLIEST_BIRTHDAY:
        raise ValueError(f"{text} is not a plausible birthday")
    return born


def parse(text: str, today: date, source: str = "auto", mapping: Mapping[str, str] | None = None) -> ParsedFile:
    """Every row of the CSV ``text`` checked; duplicates of an email after its first row are refused."""
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), dialect=dialect)
    columns = choose_columns(list(reader.fieldnames or []), source, mapping)
    rows: list[Row] = []
    problems: list[Problem] = []
    notes: list[Problem] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if len(rows) + len(problems) >= MAX_ROWS:
            raise ImportFileError(f"file: more than {MAX_ROWS:,} rows; split it")
        values = {f: (record.get(h) or "") for f, h in columns.items()}
        if not any(v.strip() for v in values.values()):
            continue
        email = values["email"].strip().lower()
        if not _EMAIL.fullmatch(email):
            problems.append(Problem(line, "email", f"{values['email'].strip()!r} is not an email address"))
            continue
        if email in seen:
            problems.append(Problem(line, "email", f"{email} already appears on line {seen[email]}"))
            continue
        try:
            points = _points(values["points"])
        except ValueError as exc:
            problems.append(Problem(line, "points", str(exc)))
            continue
        seen[email] = line
        code = referral_code(values.get("referral_code", ""))
        if values.get("referral_code", "").strip() and code is None:
            notes.append(Problem(line, "referral_code", "not a code of 4-32 letters and digits; ignored"))
        try:
            born = birthday(values.get("birthday", ""), today)
        except ValueError as exc:
            notes.append(Problem(line, "birthday", f"{exc}; ignored"))
            born = None
        rows.append(Row(line=line, email=email, points=points, tier=values.get("tier", "").strip() or None,
                        referral_code=code, birthday=born))
    return ParsedFile(columns=columns, rows=tuple(rows), problems=tuple(problems), notes=tuple(notes))
