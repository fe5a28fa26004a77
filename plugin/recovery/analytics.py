"""Does the series pay? Recovery rate and recovered revenue per step, for the admin and CLI.

A checkout counts once it had at least one step sent; it is recovered when an order was
credited to one of its steps (plugin/checkouts/tracking.py). Revenue is shop money.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.loyalty.rules.money import quantize
from plugin.models import Shop
from plugin.models.checkouts import SENT, AbandonedCheckout, RecoveryStep


def _rate(part: int, whole: int) -> str:
    return str((Decimal(part) * 100 / whole).quantize(Decimal("0.1"))) if whole else "0.0"


def recovery_stats(session: Session, shop: Shop) -> dict:
    """``{"checkouts", "emailed", "recovered", "recovery_rate", "recovered_revenue", "currency", "steps": [...]}``."""
    sent_rows = session.execute(select(RecoveryStep.step, func.count(RecoveryStep.id)).where(
        RecoveryStep.shop_id == shop.id, RecoveryStep.status == SENT).group_by(RecoveryStep.step)).all()
    sent_per_step: dict[int, int] = {step: count for step, count in sent_rows}
    emailed = session.execute(select(func.count(func.distinct(RecoveryStep.checkout_id))).where(
        RecoveryStep.shop_id == shop.id, RecoveryStep.status == SENT)).scalar_one()
    total = session.execute(select(func.count(AbandonedCheckout.id)).where(AbandonedCheckout.shop_id == shop.id)).scalar_one()
    recovered_rows = session.execute(select(AbandonedCheckout.recovered_step, func.count(AbandonedCheckout.id),
                                            func.coalesce(func.sum(AbandonedCheckout.recovered_revenue), 0))
                                     .where(AbandonedCheckout.shop_id == shop.id,
                                            AbandonedCheckout.recovered_at.is_not(None))
                                     .group_by(AbandonedCheckout.recovered_step)).all()
    recovered = {row[0]: (row[1], Decimal(row[2])) for row in recovered_rows}
    steps = []
    for number in sorted(set(sent_per_step) | set(recovered)):
        count, revenue = recovered.get(number, (0, Decimal(0)))
        steps.append({"step": number, "sent": sent_per_step.get(number, 0), "recovered": count,
                      "recovery_rate": _rate(count, sent_per_step.get(number, 0)),
                      "recovered_revenue": str(quantize(revenue, shop.currency))})
    recovered_total = sum(c for c, _ in recovered.values())
    revenue_total = sum((r for _, r in recovered.values()), Decimal(0))
    return {"currency": shop.currency, "checkouts": total, "emailed": emailed, "recovered": recovered_total,
            "recovery_rate": _rate(recovered_total, emailed),
            "recovered_revenue": str(quantize(revenue_total, shop.currency)), "steps": steps}
