"""checkouts/update: same as create — the newest state per token wins, older deliveries are ignored."""
from webhooks.handlers.checkouts_create import handle  # noqa: F401
