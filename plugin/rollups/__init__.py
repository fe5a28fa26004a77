"""Analytics rollups kept current as orders and ledger entries are written (plugin/rollups/store.py).

Imports only models and the database helpers, so the order store and the ledger can call it
without depending on the analytics feature (plugin/analytics reads the rollups)."""
