"""Outbound webhooks: signed events to the merchant's own endpoints (rules/ is pure)."""
