"""The Emails page tests send mail: they share the email tests' SendGrid sink and app."""
from tests.integration.emails.conftest import mail_send_validator, sg_app, sink  # noqa: F401  (fixtures)
