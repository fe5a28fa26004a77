"""The app a job runs in: the current one (inline/tests) or one built per worker process."""
from __future__ import annotations

from flask import Flask, current_app, has_app_context

_worker_app: Flask | None = None


def job_app() -> Flask:
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from plugin import create_app
        _worker_app = create_app()
    return _worker_app
