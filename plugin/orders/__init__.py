"""The shop's order history as analytics needs it: one row per order, no personal data.

Fed by the order webhooks (orders/create|paid|updated|cancelled, refunds/create) and by the
import; read by plugin/analytics. Ids are decimal strings (Shopify ids exceed 2**53).
"""
