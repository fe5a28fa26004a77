"""POST /webhooks: verify, store in the inbox, acknowledge; topic handlers run in the worker."""
