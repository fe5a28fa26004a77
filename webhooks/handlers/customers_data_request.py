"""customers/data_request: assemble what we hold into a record for the store owner (not the response)."""
from plugin.customers.data_request_notice import notify_merchant_of_data_request
from plugin.customers.privacy import export_customer_data
from webhooks.compliance import check_addressed_to


def handle(ctx):
    check_addressed_to(ctx.shop, ctx.payload)
    customer = ctx.payload.get("customer") or {}
    request_id = (ctx.payload.get("data_request") or {}).get("id")
    export = export_customer_data(ctx.session, ctx.shop, customer.get("id"), customer.get("email"), request_id)
    notified = notify_merchant_of_data_request(ctx.session, ctx.shop, export)
    return {"export_id": export.id, "found": export.data["found"], "merchant_email": notified is not None}
