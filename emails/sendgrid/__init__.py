"""The only code that talks to SendGrid: Mail Send request bodies, the API client that posts
them and classifies the answer, and the signed Event Webhook (signature, parsing, endpoint)."""
