"""The webhooks app's models, registered under its label `webhooks` (the tables keep their names):
inbound deliveries, defined in webhooks.inbound.models."""

from webhooks.inbound.models import WebhookDelivery

__all__ = ["WebhookDelivery"]
