"""The webhooks app's models, registered under its label `webhooks` (the tables keep their names):
inbound deliveries (webhooks.inbound.models) and outbound endpoints, messages and attempts
(webhooks.outbound.models)."""

from webhooks.inbound.models import WebhookDelivery
from webhooks.outbound.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

__all__ = ["WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "WebhookMessage"]
