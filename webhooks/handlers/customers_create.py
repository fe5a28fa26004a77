"""customers/create: start tracking the customer (and award signup points when the program has them)."""
from plugin.customers import upsert_customer


def handle(ctx):
    customer, created = upsert_customer(ctx.session, ctx.shop, ctx.payload)
    outcome = {"customer_id": customer.id, "created": created}
    on_signup = _signup_hook()
    if on_signup is not None:
        outcome.update(on_signup(ctx, customer) or {})
    return outcome


def _signup_hook():
    """Signup points live in the loyalty service once it is installed in this tree."""
    try:
        from plugin.loyalty_service.actions import award_signup_points
    except ModuleNotFoundError:
        return None
    return award_signup_points
