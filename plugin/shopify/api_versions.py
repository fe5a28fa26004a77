"""Admin API release calendar: which pinned version Shopify still serves.

Shopify releases a version every quarter (``YYYY-01/04/07/10``) and supports each one for
at least 12 months; a call or webhook on an unsupported version is silently served with
the oldest supported one (https://shopify.dev/docs/api/usage/versioning). Pure: no I/O.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# The latest stable release on 2026-11-29 (CONTRACT.md, SHOPIFY_API_VERSION).
LATEST_STABLE = "2026-10"
SUPPORT_MONTHS = 12
_RELEASE = re.compile(r"(\d{4})-(01|04|07|10)")


@dataclass(frozen=True)
class VersionStatus:
    version: str
    released: date
    supported_until: date
    supported: bool

    def describe(self) -> str:
        if self.supported:
            return (f"SHOPIFY_API_VERSION {self.version} is supported until at least "
                    f"{self.supported_until.isoformat()}")
        return (f"SHOPIFY_API_VERSION {self.version} is older than {SUPPORT_MONTHS} months (support ended "
                f"{self.supported_until.isoformat()}); Shopify silently serves another version — "
                f"pin {LATEST_STABLE} or newer")


def release_date(version: str) -> date:
    """``2025-10`` -> 2025-10-01; ValueError for anything that is not a quarterly release."""
    match = _RELEASE.fullmatch(version or "")
    if match is None:
        raise ValueError(f"not a Shopify API release: {version!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


def version_status(version: str, today: date) -> VersionStatus:
    """Whether ``version`` is inside its 12-month support window on ``today``."""
    released = release_date(version)
    month = released.month - 1 + SUPPORT_MONTHS
    until = date(released.year + month // 12, month % 12 + 1, 1)
    return VersionStatus(version, released, until, today < until)
