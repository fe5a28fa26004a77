"""checkouts/create: remember the cart and plan its recovery series (see plugin/checkouts)."""
from plugin.recovery.facts import CheckoutPayloadError, facts_from_webhook
from plugin.recovery.checkouts import upsert_checkout


def handle(ctx):
    try:
        facts = facts_from_webhook(ctx.payload)
    except CheckoutPayloadError as exc:
        from webhooks.inbox import MalformedPayload
        raise MalformedPayload(str(exc)) from None
    return upsert_checkout(ctx.session, ctx.shop, facts, ctx.now)
