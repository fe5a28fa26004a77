"""How big a reliability run is: ``SCALE=fast`` (default, in `make test`), ``ci`` (`.ci/run`,
under 15 minutes here) or ``full`` (`make reliability`: ≥ 10,000 deliveries, 10 min soak)."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    customers: int
    orders_per_customer: int
    senders: int
    fuzz_examples: int
    soak_seconds: int
    drain_timeout: float


SCALES = {
    "fast": Scale("fast", customers=6, orders_per_customer=2, senders=4, fuzz_examples=30, soak_seconds=0,
                  drain_timeout=420),
    "ci": Scale("ci", customers=30, orders_per_customer=2, senders=6, fuzz_examples=60, soak_seconds=90,
                drain_timeout=600),
    # ≥ 10,000 deliveries (≈ 13 per customer with duplicates) and ≥ 10,000 hostile inputs (5 × 2,000).
    "full": Scale("full", customers=800, orders_per_customer=3, senders=8, fuzz_examples=2000, soak_seconds=600,
                  drain_timeout=3600),
}


def current() -> Scale:
    name = os.environ.get("SCALE", "fast")
    if name not in SCALES:
        raise SystemExit(f"embajador tests: SCALE: must be one of {', '.join(SCALES)} (got {name!r})")
    return SCALES[name]
