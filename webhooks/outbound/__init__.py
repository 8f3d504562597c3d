"""Outbound webhooks: an organization's endpoints, the messages the event log fans out to them, and
each delivery attempt (Standard Webhooks signing, retries, ordering, auto-disable).

- `models`: WebhookEndpoint, WebhookMessage (one event for one endpoint; its id is the `webhook-id`),
  WebhookAttempt (one HTTP request).
"""
