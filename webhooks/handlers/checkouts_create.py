"""checkouts/create: remember the cart and plan its recovery series (see plugin/checkouts)."""
from plugin.recovery.checkouts import upsert_checkout
from plugin.recovery.facts import CheckoutPayloadError, facts_from_webhook
from webhooks.inbox import MalformedPayload


def handle(ctx):
    try:
        facts = facts_from_webhook(ctx.payload)
    except CheckoutPayloadError as exc:
        raise MalformedPayload(str(exc)) from None
    return upsert_checkout(ctx.session, ctx.shop, facts, ctx.now)
