"""The referral landing blueprint, found by create_app (lives in plugin/referrals/views.py)."""
from plugin.referrals.views import bp  # noqa: F401
