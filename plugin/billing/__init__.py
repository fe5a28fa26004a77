"""Billing through Shopify's Billing API: plans from config, no feature gated (rules/ is pure)."""
