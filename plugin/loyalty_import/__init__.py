"""Switching from another loyalty app: a CSV of balances (Smile, LoyaltyLion, any other with a
column mapping) becomes one opening-balance ledger entry per matched customer, after a dry run.

``rules/`` reads the file (pure); ``opening_balances.py`` matches customers and writes.
"""
