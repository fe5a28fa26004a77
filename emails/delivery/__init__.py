"""How a message leaves: the outbox (queue_email), suppression and the frequency cap, the
due-row scheduling tick task, the single and batch send jobs, SendGrid events recorded
against our rows, per-shop sender settings, signed tokens and the unsubscribe link."""
