"""Registers every admin route module on the admin blueprint, plus the embedded pages."""
from __future__ import annotations

from plugin.admin import (
    bp,  # noqa: F401  (app factory registers views.bp)
    dev_login,  # noqa: F401  (registers routes)
    pages,  # noqa: F401  (registers routes)
    routes_analytics,  # noqa: F401  (registers routes)
    routes_billing,  # noqa: F401  (registers routes)
    routes_checkouts,  # noqa: F401  (registers routes)
    routes_customers,  # noqa: F401  (registers routes)
    routes_developers,  # noqa: F401  (registers routes)
    routes_emails,  # noqa: F401  (registers routes)
    routes_feedback,  # noqa: F401  (registers routes)
    routes_loyalty_import,  # noqa: F401  (registers routes)
    routes_onboarding,  # noqa: F401  (registers routes)
    routes_program,  # noqa: F401  (registers routes)
    routes_referrals,  # noqa: F401  (registers routes)
    routes_shop,  # noqa: F401  (registers routes)
    routes_webhooks,  # noqa: F401  (registers routes)
    routes_whatif,  # noqa: F401  (registers routes)
)
