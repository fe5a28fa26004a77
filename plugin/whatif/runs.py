"""What-if runs: stored, run by a job, progress written where the admin page polls it.

``start_run`` validates the draft and stores a queued run; the caller commits, then
``enqueue_run`` hands its id to RQ (in the demo the job runs at once, in-process). The job
replays the history in one read transaction and writes progress in short ones of its own.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.app_state import state
from plugin.logs import get_logger
from plugin.loyalty.rules.program import ProgramError, dump_program, load_program
from plugin.models import Customer, Shop, utcnow
from plugin.models.whatif import DONE, FAILED, QUEUED, RUNNING, WhatifRun
from plugin.whatif.history import WhatifError, compare_programs

JOB = "plugin.whatif.runs.run_whatif_job"
REQUEUE_AFTER = timedelta(minutes=2)
STALE_AFTER = timedelta(minutes=10)  # progress is written every 20,000 orders (seconds apart)
JOB_TIMEOUT = 3600  # a few million orders on a busy worker (bench/whatif.py: 1 M in ~1-3 min)
RECENT = 10
log = get_logger("whatif")


class DraftRejected(ValueError):
    """The draft is not a valid program for this shop; ``path`` names the field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


def load_draft(shop: Shop, document: Any):
    """The draft as a Program, validated like ``program import``; DraftRejected otherwise."""
    if not isinstance(document, dict):
        raise DraftRejected("$", "the draft must be a JSON object (a program document)")
    try:
        draft = load_program(json.loads(json.dumps(document, default=str), parse_float=Decimal))
    except ProgramError as exc:
        raise DraftRejected(exc.path, exc.message) from None
    if draft.currency != shop.currency:
        raise DraftRejected("currency", f"the draft is in {draft.currency}, the shop sells in {shop.currency}")
    return draft


def start_run(session: Session, shop: Shop, document: Any, requested_by: str | None) -> WhatifRun:
    draft = load_draft(shop, document)
    run = WhatifRun(shop_id=shop.id, status=QUEUED, draft=dump_program(draft), requested_by=requested_by)
    session.add(run)
    session.flush()
    return run


def enqueue_run(run_id: int) -> None:
    """After the run's row is committed: the job, id ``whatif-<run id>`` (a re-enqueue is harmless)."""
    state().queue.enqueue(JOB, run_id, job_id=f"whatif-{run_id}", timeout=JOB_TIMEOUT)


def _set(run_id: int, **changes: Any) -> None:
    with state().db.transaction() as session:
        run = session.get(WhatifRun, run_id)
        if run is not None:
            for name, value in changes.items():
                setattr(run, name, value)


def run_whatif_job(run_id: int) -> str:
    """RQ/inline job (in the app's context): simulate and store the report, once."""
    app_state = state()
    with app_state.db.transaction() as session:
        run = session.get(WhatifRun, run_id, with_for_update=True)
        if run is None or run.status != QUEUED:
            return "skipped"
        run.status = RUNNING
        shop_id, document = run.shop_id, run.draft
    try:
        with app_state.db.transaction() as session:
            shop = session.get_one(Shop, shop_id)
            draft = load_program(json.loads(json.dumps(document), parse_float=Decimal))
            report = compare_programs(session, shop, draft, utcnow(),
                                      on_progress=lambda done, total: _set(run_id, done=done, total=total),
                                      processes=app_state.config.whatif_processes)
    except (WhatifError, ProgramError) as exc:
        _set(run_id, status=FAILED, error=str(exc)[:500], finished_at=utcnow())
        return "failed"
    except Exception as exc:
        log.warning("what-if failed: %s", type(exc).__name__, extra={"shop_id": shop_id, "run_id": run_id})
        _set(run_id, status=FAILED, error=type(exc).__name__, finished_at=utcnow())
        raise
    _set(run_id, status=DONE, report=report, done=report["orders"], total=report["orders"], finished_at=utcnow())
    return "done"


def run_view(session: Session, shop: Shop, run: WhatifRun) -> dict[str, Any]:
    """A run for the admin: progress, and the report with each listed customer's email."""
    report = run.report
    if report is not None:
        listed = report["tier_changes"]["customers"]
        ids = [c["customer"] for c in listed]
        emails: dict[str, str | None] = {}
        if ids:
            emails = {sid: email for sid, email in session.execute(select(Customer.shopify_id, Customer.email).where(
                Customer.shop_id == shop.id, Customer.shopify_id.in_(ids)))}
        report = dict(report, tier_changes=dict(report["tier_changes"], customers=[
            dict(c, email=emails.get(c["customer"])) for c in listed]))
    return {"id": run.id, "status": run.status, "done": run.done, "total": run.total, "error": run.error,
            "created_at": run.created_at.isoformat(), "finished_at": run.finished_at.isoformat()
            if run.finished_at else None, "draft": run.draft, "report": report}


def reclaim_lost_run(run: WhatifRun, now: datetime) -> bool:
    """Whether the run's job must be sent again (by the caller, after its commit): still queued
    after ``REQUEUE_AFTER`` (Redis lost the job, or it was never sent), or running without
    progress for ``STALE_AFTER`` (its worker died; the run is put back in the queue). A copy that
    was only slow finds the run no longer queued and does nothing."""
    if run.status == QUEUED:
        return now - run.created_at > REQUEUE_AFTER
    if run.status == RUNNING and now - run.updated_at > STALE_AFTER:
        run.status = QUEUED
        return True
    return False


def find_run(session: Session, shop: Shop, run_id: int) -> WhatifRun | None:
    return session.execute(WhatifRun.for_shop(shop.id).where(WhatifRun.id == run_id)).scalar_one_or_none()


def recent_runs(session: Session, shop: Shop) -> list[dict[str, Any]]:
    runs = session.execute(WhatifRun.for_shop(shop.id).order_by(WhatifRun.id.desc()).limit(RECENT)).scalars()
    return [{"id": r.id, "status": r.status, "done": r.done, "total": r.total,
             "created_at": r.created_at.isoformat(),
             "liability_change": (r.report or {}).get("liability_change")} for r in runs]
