"""The baseline for bench/webhook_ingress.py (and bench/proxy_read.py): the cheapest Flask endpoint there is.

It reads the body and answers 200 with a small JSON, like the real ingress, but verifies,
stores and enqueues nothing; under the same gunicorn settings it measures what Flask,
gunicorn and the loopback cost, so the ratio shows what our own work costs on top.
"""
from __future__ import annotations

from flask import Flask, jsonify, request


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/webhooks")
    def receive_webhook():
        request.get_data(cache=False)
        return jsonify(status="ok"), 200

    @app.get("/proxy/customer")
    def proxy_customer():  # the baseline of bench/proxy_read.py
        return jsonify(status="ok"), 200

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok"), 200

    return app
