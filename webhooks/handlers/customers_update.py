"""customers/update: refresh names, locale and birthday; older payloads never win.

Consent is not in this payload since API 2025-01: it has its own topic
(customers_email_marketing_consent_update.py).
"""
from plugin.customers.profiles import CustomerPayloadError, upsert_customer
from webhooks.inbox import MalformedPayload


def handle(ctx):
    try:
        customer, _created = upsert_customer(ctx.session, ctx.shop, ctx.payload)
    except CustomerPayloadError as exc:
        raise MalformedPayload(str(exc)) from None
    return {"customer_id": customer.id}
