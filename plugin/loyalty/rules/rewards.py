"""Rewards a shopper can buy with points, as Shopify discount specifications.

The edge turns a ``DiscountSpec`` into a GraphQL ``discountCodeBasicCreate``
(single use, bound to the customer). Shopify wants percentages as 0.0-1.0,
so ``percentage`` is already divided by 100.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from plugin.loyalty.rules.money import quantize
from plugin.loyalty.rules.program import Discount, Program, Reward

# 32 symbols (5 bits each) without 0/O, 1/I: nothing a shopper can mistype.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
MIN_CODE_BYTES = 5


DiscountKind = Literal["fixed_amount", "percentage", "free_shipping"]


@dataclass(frozen=True)
class DiscountSpec:
    kind: DiscountKind
    amount: Decimal | None
    percentage: Decimal | None
    min_subtotal: Decimal | None
    starts_at: datetime
    ends_at: datetime | None


def affordable(rewards: Iterable[Reward], available_points: int) -> tuple[Reward, ...]:
    """Rewards the balance can pay for, cheapest first."""
    return tuple(sorted((r for r in rewards if r.cost <= available_points), key=lambda r: (r.cost, r.id)))


def discount_spec(reward: Reward | Discount, currency: str, now: datetime, expires_in_days: int | None = None) -> DiscountSpec:
    """What to create in Shopify for ``reward`` (or a referral/checkout ``Discount``)."""
    days = getattr(reward, "expires_in_days", 30) if expires_in_days is None else expires_in_days
    amount = percentage = None
    if reward.type in ("fixed_amount", "percentage") and reward.value is None:
        raise ValueError(f"a {reward.type} discount needs a value")
    if reward.type == "fixed_amount" and reward.value is not None:
        amount = quantize(reward.value, currency)
    elif reward.type == "percentage" and reward.value is not None:
        percentage = reward.value / Decimal(100)
    minimum = None if reward.min_subtotal is None else quantize(reward.min_subtotal, currency)
    return DiscountSpec(reward.type, amount, percentage, minimum, now, now + timedelta(days=days) if days else None)


def generate_code(prefix: str, random_bytes: bytes) -> str:
    """``PREFIX-XXXXXXXX`` from caller-supplied randomness (``secrets.token_bytes(10)``).

    Deterministic for the same bytes so tests can pin it; 5 bytes give 8
    symbols (40 bits), 10 bytes give 16.
    """
    if len(random_bytes) < MIN_CODE_BYTES:
        raise ValueError(f"need at least {MIN_CODE_BYTES} random bytes")
    bits = len(random_bytes) * 8
    number = int.from_bytes(random_bytes, "big")
    length = bits // 5
    number >>= bits - length * 5
    symbols = []
    for _ in range(length):
        number, index = divmod(number, 32)
        symbols.append(CODE_ALPHABET[index])
    body = "".join(reversed(symbols))
    clean = "".join(c for c in prefix.upper() if c.isascii() and c.isalnum())[:20]
    return f"{clean}-{body}" if clean else body


def point_value(program: Program) -> Decimal:
    """Money one point is worth: the program's ``point_value``, else the cheapest fixed-amount
    reward's value per point, else 0 (analytics' liability and the what-if use the same)."""
    if program.point_value is not None:
        return program.point_value
    fixed = [r.value / r.cost for r in program.rewards if r.type == "fixed_amount" and r.value and r.cost]
    return min(fixed) if fixed else Decimal(0)
