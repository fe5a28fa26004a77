"""The single-use discount code offered on the program's ``incentive_on_step``.

The code is chosen and stored on the step in one transaction, then created in Shopify
outside any transaction, then confirmed. A retry re-uses the stored code; Shopify answering
that the code is TAKEN means an earlier attempt created it. Any other Shopify failure is
recorded and the email goes without the incentive.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from plugin.loyalty.rules.program import Discount
from plugin.loyalty.rules.rewards import discount_spec, generate_code
from plugin.models import Shop
from plugin.shopify.discounts import create_discount_code
from plugin.shopify.errors import ShopifyError, ShopifyUserError
from plugin.shops.tokens import admin_client

VALID_DAYS = 3
CODE_PREFIX = "VUELVE"


def new_code() -> str:
    return generate_code(CODE_PREFIX, secrets.token_bytes(5))


def create_in_shopify(app_state, shop: Shop, code: str, discount: Discount, customer_shopify_id: str | None,
                      now: datetime) -> str | None:
    """Create ``code`` in Shopify; returns None on success (or if it already exists), else the error."""
    spec = discount_spec(discount, shop.currency, now, expires_in_days=VALID_DAYS)
    try:
        create_discount_code(admin_client(app_state, shop), title=f"Carrito recuperado {code}", code=code,
                             customer_gid=customer_shopify_id, kind=spec.kind, amount=spec.amount,
                             percentage=spec.percentage, min_subtotal=spec.min_subtotal, starts_at=now,
                             ends_at=spec.ends_at or now + timedelta(days=VALID_DAYS))
    except ShopifyUserError as exc:
        return None if "TAKEN" in exc.codes else str(exc)[:500]
    except (ShopifyError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    except Exception as exc:  # noqa: BLE001 - ShopNotInstalled, network: the email still goes
        return f"{type(exc).__name__}: {exc}"[:500]
    return None
