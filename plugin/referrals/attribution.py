"""Hooks the order handlers call so referrals can react to paid and refunded orders.

No-ops until the referral program is built; the order handlers already call them.
"""
from __future__ import annotations


def on_order_paid(ctx, customer, facts) -> dict | None:
    """Called inside the orders/paid (and orders/create) transaction, after points are awarded."""
    return None


def on_order_refunded(ctx, order_id: str) -> dict | None:
    """Called inside refunds/create and orders/cancelled after the clawback."""
    return None
