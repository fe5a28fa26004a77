"""One module per topic, named after it (``orders/paid`` → ``orders_paid.py``), each with
``handle(ctx: HandlerContext) -> dict | None``. The returned dict is kept as the outcome."""
