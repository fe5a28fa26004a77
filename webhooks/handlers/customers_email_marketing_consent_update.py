"""customers_email_marketing_consent/update: the shopper's email marketing consent changed.

Body (API 2025-01+): ``{"customer_id", "email_address", "email_marketing_consent": {"state",
"opt_in_level", "consent_updated_at"}}``. An older statement than the one we hold changes
nothing; subscribing pays the consent points once; an unsubscribe stops marketing mail from
the next delivery on (the outbox re-checks consent when it sends).
"""
from plugin.customers.consent import customer_for_consent, fact_from_consent_topic
from plugin.loyalty.consent_points import record_consent_and_reward
from webhooks.inbox import MalformedPayload


def handle(ctx):
    customer_id, email, fact = fact_from_consent_topic(ctx.payload)
    if fact is None or (customer_id is None and email is None):
        raise MalformedPayload("consent payload needs customer_id or email_address and email_marketing_consent.state")
    customer = customer_for_consent(ctx.session, ctx.shop, customer_id, email)
    if customer is None:
        return {"consent": "no_customer"}
    outcome = record_consent_and_reward(ctx.session, ctx.shop, customer, fact, ctx.now, f"delivery:{ctx.delivery.id}")
    return {"customer_id": customer.id, **outcome}
