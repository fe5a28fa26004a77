"""Registers every admin route module on the admin blueprint, plus the embedded pages."""
from __future__ import annotations

from plugin.admin import bp  # noqa: F401  (app factory registers views.bp)
from plugin.admin import dev_login  # noqa: F401  (registers routes)
from plugin.admin import pages  # noqa: F401  (registers routes)
from plugin.admin import routes_analytics  # noqa: F401  (registers routes)
from plugin.admin import routes_checkouts  # noqa: F401  (registers routes)
from plugin.admin import routes_customers  # noqa: F401  (registers routes)
from plugin.admin import routes_emails  # noqa: F401  (registers routes)
from plugin.admin import routes_feedback  # noqa: F401  (registers routes)
from plugin.admin import routes_onboarding  # noqa: F401  (registers routes)
from plugin.admin import routes_program  # noqa: F401  (registers routes)
from plugin.admin import routes_referrals  # noqa: F401  (registers routes)
from plugin.admin import routes_shop  # noqa: F401  (registers routes)
