"""All tables. Each area owns a module; importing this package registers every table."""
from .base import Base, ShopScoped, utcnow  # noqa: F401
from .shop import OAuthState, Shop  # noqa: F401
from .customer import Customer  # noqa: F401
from .inbox import WebhookDelivery  # noqa: F401
from .privacy import CustomerDataExport  # noqa: F401
from .ledger import CustomerEvent, LedgerEntry  # noqa: F401
from .email import EmailEvent, EmailSuppression, OutboxMessage, SendgridEventBatch  # noqa: F401
from .referrals import CustomerFingerprint, Referral, ReferralClick  # noqa: F401
from .rewards import LoyaltyOrder, Redemption  # noqa: F401
from .checkouts import AbandonedCheckout, CheckoutOrder, CheckoutSync, RecoveryStep  # noqa: F401
from .feedback import Complaint, SurveyResponse  # noqa: F401
