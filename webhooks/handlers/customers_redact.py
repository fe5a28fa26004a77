"""customers/redact: erase the customer's personal data everywhere we keep it."""
from plugin.customers.privacy import redact_customer
from webhooks.compliance import check_addressed_to


def handle(ctx):
    check_addressed_to(ctx.shop, ctx.payload)
    customer = ctx.payload.get("customer") or {}
    found = redact_customer(ctx.session, ctx.shop, customer.get("id"), customer.get("email"), now=ctx.now)
    return {"redacted": found}
