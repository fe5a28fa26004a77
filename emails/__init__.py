"""Embajador's email core: which flows exist, in which language and format
they are written, how they render, and the SendGrid requests and events that
carry them. Pure: no Flask, no database, no network."""
from emails.content.flows import FLOWS, Flow, get_flow, may_send
from emails.content.locale import babel_locale, choose_locale
from emails.content.render import RenderedEmail, render_email

__all__ = ["FLOWS", "Flow", "RenderedEmail", "babel_locale", "choose_locale", "get_flow",
           "may_send", "render_email"]
