"""Pure rules of outbound webhooks: signatures, allowed destinations, retry schedule, payloads."""
