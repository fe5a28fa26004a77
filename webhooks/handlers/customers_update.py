"""customers/update: refresh names, locale and marketing consent; older payloads never win."""
from plugin.customers import upsert_customer


def handle(ctx):
    customer, changed = upsert_customer(ctx.session, ctx.shop, ctx.payload)
    return {"customer_id": customer.id}
