"""customers/create: start tracking the customer (and award signup points when the program has them)."""
from plugin.customers.profiles import CustomerPayloadError, upsert_customer
from plugin.loyalty.actions import award_signup_points
from webhooks.handlers.parsing import source
from webhooks.inbox import MalformedPayload


def handle(ctx):
    try:
        customer, created = upsert_customer(ctx.session, ctx.shop, ctx.payload)
    except CustomerPayloadError as exc:
        raise MalformedPayload(str(exc)) from None
    outcome = {"customer_id": customer.id, "created": created}
    outcome.update(award_signup_points(ctx.session, ctx.shop, customer, ctx.now, source(ctx)) or {})
    return outcome
