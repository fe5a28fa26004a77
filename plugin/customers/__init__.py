"""Customers: profiles (sync from Shopify), consent, lookup, privacy."""
