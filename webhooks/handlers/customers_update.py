"""customers/update: refresh names, locale, birthday and marketing consent; older payloads never win.

Subscribing to email marketing pays the program's ``marketing_consent`` points, once per
customer ever (ledger key); unsubscribing later takes nothing back.
"""
from plugin.customers.profiles import find_customer, upsert_customer
from plugin.loyalty.actions import award_marketing_consent_points


def handle(ctx):
    known = find_customer(ctx.session, ctx.shop, shopify_id=ctx.payload.get("id"), email=ctx.payload.get("email"))
    previous_state = known.marketing_state if known is not None else None
    customer, _created = upsert_customer(ctx.session, ctx.shop, ctx.payload)
    outcome = {"customer_id": customer.id}
    if customer.marketing_state == "SUBSCRIBED" and previous_state != "SUBSCRIBED":
        outcome["consent_points"] = award_marketing_consent_points(ctx.session, ctx.shop, customer, ctx.now,
                                                                   f"delivery:{ctx.delivery.id}")
    return outcome
