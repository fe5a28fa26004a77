"""customers/update: refresh names, locale, birthday and marketing consent; older payloads never win.

Subscribing to email marketing pays the program's ``marketing_consent`` points, once per
customer ever (ledger key); unsubscribing later takes nothing back.
"""
from plugin.customers.profiles import CustomerPayloadError, find_customer, upsert_customer
from plugin.loyalty.actions import award_marketing_consent_points
from webhooks.handlers.parsing import source
from webhooks.inbox import MalformedPayload


def handle(ctx):
    known = find_customer(ctx.session, ctx.shop, shopify_id=ctx.payload.get("id"), email=ctx.payload.get("email"))
    previous_state = known.marketing_state if known is not None else None
    try:
        customer, _created = upsert_customer(ctx.session, ctx.shop, ctx.payload)
    except CustomerPayloadError as exc:
        raise MalformedPayload(str(exc)) from None
    outcome = {"customer_id": customer.id}
    if customer.marketing_state == "SUBSCRIBED" and previous_state != "SUBSCRIBED":
        outcome["consent_points"] = award_marketing_consent_points(ctx.session, ctx.shop, customer, ctx.now,
                                                                   source(ctx))
    return outcome
