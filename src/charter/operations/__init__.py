"""Operations: what keeps a live model dependable once it is in production.

- :mod:`~charter.operations.alerts` raises, de-duplicates, acknowledges and resolves alerts,
  and test-fires a charter's routes (the promotion gate asks for a successful test fire);
- :mod:`~charter.operations.routes` delivers an alert to a webhook (Slack-compatible), an email
  address over SMTP, or the log, retrying transient failures within bounds.
"""
