"""Inbound webhook deliveries: each verified delivery is stored once (provider, delivery id).

The models belong to the `webhooks` app (webhooks/models.py imports them, so Django registers them there).
"""

from django.db import models
from django.utils import timezone


class WebhookDelivery(models.Model):
    """One verified inbound delivery, its raw body, and what processing made of it."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        QUEUED = "queued", "Queued"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    provider = models.CharField(max_length=32)
    delivery_id = models.CharField(max_length=100)
    event = models.CharField(max_length=64)
    action = models.CharField(max_length=64, blank=True)
    signature_valid = models.BooleanField(default=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    body_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["provider", "delivery_id"], name="webhook_delivery_unique"),
        ]

    def __str__(self):
        return f"{self.provider} {self.event} {self.delivery_id}"
