"""customers/create: start tracking the customer (and award signup points when the program has them)."""
from plugin.customers.profiles import upsert_customer
from plugin.loyalty.actions import award_signup_points


def handle(ctx):
    customer, created = upsert_customer(ctx.session, ctx.shop, ctx.payload)
    outcome = {"customer_id": customer.id, "created": created}
    outcome.update(award_signup_points(ctx, customer) or {})
    return outcome
