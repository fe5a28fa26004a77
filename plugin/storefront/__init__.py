"""The App Proxy JSON API the storefront widget reads and spends points through."""
