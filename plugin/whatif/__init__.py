"""What-if: a draft program applied to the shop's real history with the live engine's pure rules.

``rules/`` simulates (pure); ``history.py`` reads the orders table and the ledger; ``runs.py``
stores a run and its progress and is the RQ job; ``parallel.py`` splits a run's
customers across forked processes; ``report.py`` turns a comparison into text.
"""
