"""``embajador demo``: the whole story on embedded defaults, through the public interfaces.

A fake Shopify (plugin/fake_shopify.py) answers OAuth and the Admin API on a local port;
the app itself is served over real HTTP on another; every webhook is signed with the app
secret and posted to POST /webhooks, exactly as Shopify would. Chapters run in order.
"""
