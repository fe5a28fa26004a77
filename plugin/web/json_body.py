"""Reading a JSON request body that callers (shoppers, merchants) fully control."""
from __future__ import annotations

from flask import request


def json_object() -> dict:
    """The body as a dict; anything else (no body, bad JSON, a list, a number) is ``{}``, so
    handlers validate fields and answer 400 instead of crashing on ``.get``."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}
