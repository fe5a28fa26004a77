"""Embajador's emails: what a message says and how it leaves. Knows no feature: callers
pass what a message needs, and the loyalty block comes from a provider the app factory
registers.

- ``content``: what a message says, in which language — flows, templates/<locale>,
  rendering, formatting and the context a flow needs (pure, apart from the shared
  shop/loyalty context read at queue and send time).
- ``delivery``: the outbox (one row per message), the send jobs (single and batched),
  suppression and the frequency cap, SendGrid events and the unsubscribe link.
- ``sendgrid``: the only code that talks to SendGrid — Mail Send requests and client,
  the signed Event Webhook.
"""
from emails.content.flows import FLOWS, Flow, get_flow, may_send
from emails.content.locale import babel_locale, choose_locale
from emails.content.render import RenderedEmail, render_email

__all__ = ["FLOWS", "Flow", "RenderedEmail", "babel_locale", "choose_locale", "get_flow",
           "may_send", "render_email"]
