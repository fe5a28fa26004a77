"""All tables. Each area owns a module; importing this package registers every table."""
from plugin.models.analytics import (  # noqa: F401
    AnalyticsCohort,
    AnalyticsCustomer,
    AnalyticsMemberGroup,
    AnalyticsMonth,
    AnalyticsPointsMonth,
    AnalyticsRollupState,
    AnalyticsTier,
)
from plugin.models.base import Base, ShopScoped, utcnow  # noqa: F401
from plugin.models.billing import ShopBilling  # noqa: F401
from plugin.models.checkouts import AbandonedCheckout, CheckoutOrder, CheckoutSync, RecoveryStep  # noqa: F401
from plugin.models.customer import Customer  # noqa: F401
from plugin.models.email import EmailEvent, EmailSuppression, OutboxMessage, SendgridEventBatch  # noqa: F401
from plugin.models.feedback import Complaint, SurveyResponse  # noqa: F401
from plugin.models.inbox import WebhookDelivery  # noqa: F401
from plugin.models.ledger import CustomerEvent, LedgerEntry  # noqa: F401
from plugin.models.open_api import ApiIdempotency, ApiKey, ReviewIntegration  # noqa: F401
from plugin.models.orders import Order  # noqa: F401
from plugin.models.outbound import OutboundDelivery, OutboundEndpoint, OutboundEvent  # noqa: F401
from plugin.models.privacy import CustomerDataExport  # noqa: F401
from plugin.models.program_versions import ProgramVersion  # noqa: F401
from plugin.models.referrals import CustomerFingerprint, Referral, ReferralClick  # noqa: F401
from plugin.models.rewards import LoyaltyOrder, LoyaltyRefund, Redemption  # noqa: F401
from plugin.models.shop import OAuthState, Shop  # noqa: F401
from plugin.models.whatif import WhatifRun  # noqa: F401
