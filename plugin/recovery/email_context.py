"""What the abandoned_checkout_1/2/3 templates show: the cart, its link, the points it would
earn at the customer's tier, and the incentive. Shop name, greeting, loyalty block and the
unsubscribe link are added by emails.delivery.outbox.queue_email."""
from __future__ import annotations

from decimal import Decimal

from emails.content.context import CartItem
from emails.content.formatting import Discount as EmailDiscount
from emails.content.formatting import Money as EmailMoney
from plugin.loyalty.rules.earning import points_for_order
from plugin.loyalty.rules.money import Money
from plugin.loyalty.rules.program import Discount, Program
from plugin.loyalty.rules.tiers import multiplier_for
from plugin.models import Customer, Shop
from plugin.models.checkouts import AbandonedCheckout


def cart_items(checkout: AbandonedCheckout, currency: str) -> list[CartItem]:
    items = []
    for line in checkout.line_items or []:
        if int(line.get("quantity") or 0) <= 0 or line.get("price") is None:
            continue
        unit = Decimal(line["price"])
        items.append(CartItem(title=line.get("title") or "", quantity=int(line["quantity"]),
                              price=EmailMoney(unit * int(line["quantity"]), line.get("currency") or currency),
                              image_url=line.get("image_url"), variant_title=line.get("variant_title")))
    return items


def cart_total(checkout: AbandonedCheckout, items: list[CartItem], currency: str) -> EmailMoney:
    if checkout.subtotal is not None and checkout.currency:
        return EmailMoney(checkout.subtotal, checkout.currency)
    return EmailMoney(sum((i.price.amount for i in items), Decimal(0)), currency)


def cart_points(program: Program, total: EmailMoney, customer: Customer | None) -> int:
    """Points this cart would earn at the customer's tier (0 if the cart is in another currency)."""
    if total.currency != program.currency:
        return 0
    tier = customer.tier_name if customer is not None else None
    return points_for_order(Money(total.amount, total.currency), program, multiplier_for(program, tier)).points


def incentive_display(discount: Discount, currency: str) -> EmailDiscount | None:
    if discount.type not in ("percentage", "fixed_amount") or discount.value is None:
        return None
    return EmailDiscount(discount.type, discount.value, currency if discount.type == "fixed_amount" else None)


def recovery_context(shop: Shop, checkout: AbandonedCheckout, customer: Customer | None, program: Program,
                     incentive_code: str | None) -> dict:
    items = cart_items(checkout, shop.currency)
    total = cart_total(checkout, items, shop.currency)
    series = program.abandoned_checkout
    return {"items": items, "cart_total": total, "recovery_url": checkout.recovery_url or f"https://{shop.domain}/cart",
            "cart_points": cart_points(program, total, customer), "incentive_code": incentive_code,
            "incentive": incentive_display(series.incentive, shop.currency) if incentive_code and series else None}
