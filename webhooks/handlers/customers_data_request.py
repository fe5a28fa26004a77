"""customers/data_request: assemble what we hold into a record for the store owner (not the response)."""
from plugin.customers.privacy import export_customer_data


def handle(ctx):
    customer = ctx.payload.get("customer") or {}
    request_id = (ctx.payload.get("data_request") or {}).get("id")
    export = export_customer_data(ctx.session, ctx.shop, customer.get("id"), customer.get("email"), request_id)
    return {"export_id": export.id, "found": export.data["found"]}
