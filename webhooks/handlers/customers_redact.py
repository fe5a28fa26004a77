"""customers/redact: erase the customer's personal data everywhere we keep it."""
from plugin.customers.privacy import redact_customer


def handle(ctx):
    customer = ctx.payload.get("customer") or {}
    found = redact_customer(ctx.session, ctx.shop, customer.get("id"), customer.get("email"), now=ctx.now)
    return {"redacted": found}
