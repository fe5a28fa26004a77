"""Persistence around the pure loyalty core: the ledger table, balances, events.

plugin/loyalty/ decides (pure); plugin/points/ writes those decisions to Postgres with
idempotency keys and row locks. Handlers, jobs and the CLI call these functions.
"""
