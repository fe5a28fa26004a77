"""The open API (``/v1``): per-shop keys, idempotent writes, the OpenAPI document."""
