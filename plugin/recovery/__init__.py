"""Abandoned-checkout recovery: a consent-aware email series that stops when the shopper buys.

``facts`` and ``rules`` are pure (payload parsing, the schedule, the send decision);
``store`` keeps the latest state per checkout token; ``orders`` copies order facts out of
the webhook inbox to recognise purchases; ``sender``, ``tracking`` and ``reconcile`` are the
tick tasks; ``analytics`` reports recovery rate and recovered revenue per step.
"""
