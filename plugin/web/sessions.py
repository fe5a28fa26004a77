"""Flask's cookie session, without building a signing serializer for requests that carry no
cookie at all (every webhook, App Proxy and SendGrid call): Flask's own interface builds one
(itsdangerous key derivation included) on every request before looking for the cookie, ~0.08 ms
of a webhook delivery's CPU. With a cookie, or when a session is saved, nothing changes.
https://flask.palletsprojects.com/en/stable/api/#flask.sessions.SecureCookieSessionInterface
"""
from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class CookieSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.environ.get("HTTP_COOKIE"):
            return self.session_class()  # what the parent returns when the cookie is missing
        return super().open_session(app, request)
