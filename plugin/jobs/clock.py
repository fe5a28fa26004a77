"""`python -m plugin.jobs.clock`: runs `tick` once a minute (Procfile `clock`, exactly one dyno).

Ticks are idempotent and serialised by a Postgres advisory lock, so an extra clock or a
manual `embajador tick` never double-sends; Heroku Scheduler running the CLI works too.
"""
from __future__ import annotations

import time

from plugin import create_app
from plugin.jobs.tick import run_tick
from plugin.logs import get_logger
from plugin.models import utcnow

INTERVAL_SECONDS = 60
log = get_logger("clock")


def main() -> None:
    app = create_app()
    with app.app_context():
        while True:
            started = time.monotonic()
            try:
                run_tick(app.extensions["embajador"], utcnow())
            except Exception:  # keep ticking; the error is logged with its type
                log.exception("tick failed")
            time.sleep(max(1.0, INTERVAL_SECONDS - (time.monotonic() - started)))


if __name__ == "__main__":
    main()
