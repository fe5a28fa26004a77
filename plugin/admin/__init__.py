"""The embedded admin: a small page inside Shopify's admin and a JSON API behind it.

Every /api/ call carries an App Bridge session token; nothing here trusts a shop named in
the URL or body. Route modules register on ``bp``; views.py imports them all.
"""
from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates", static_folder="static",
               static_url_path="/admin-static")
