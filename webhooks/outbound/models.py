"""Outbound webhook endpoints, messages and attempts.

The models belong to the `webhooks` app (webhooks/models.py imports them, so Django registers them there).
"""

from django.db import models
from django.utils import timezone

from plexica.crypto import EncryptedTextField
from plexica.models import CreatedBy, OrganizationScoped, SoftDeleted, Timestamped
from plexica.ids import public_id_field


class WebhookEndpoint(OrganizationScoped, Timestamped, CreatedBy, SoftDeleted):
    """A URL of the organization's that receives the events its filters select, signed with its secret.

    `event_types` holds type filters (`plexica.events.patterns`: `config_object.*`, `*`). The secret is
    `whsec_` + base64 (Standard Webhooks), encrypted at rest; after a rotation the previous secret stays
    valid until `previous_secret_expires_at` and deliveries carry both signatures. `failing_since` is the
    start of the current run of failed attempts (cleared by a success); `ordered` endpoints get their
    messages strictly in event order.
    """

    class DisabledReason(models.TextChoices):
        MANUAL = "manual", "Disabled by a person"
        GONE = "gone", "The endpoint answered 410 Gone"
        FAILING = "failing", "Every delivery failed for too long"

    id = public_id_field("whe")
    plugin = models.ForeignKey(
        "plugins.Plugin", on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        help_text="The plugin that subscribed (its key manages only its own endpoints); empty for the organization's.",
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=500, blank=True)
    event_types = models.JSONField(default=list, help_text="Type filters; '*' matches anything.")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=16, choices=DisabledReason.choices, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    ordered = models.BooleanField(default=False, help_text="Deliver messages strictly in event order.")
    secret = EncryptedTextField(editable=False)
    previous_secret = EncryptedTextField(null=True, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = "webhook endpoint"
        indexes = [models.Index(fields=["organization", "enabled"], name="webhook_endpoint_org_idx")]

    def __str__(self):
        return self.description or self.url


class WebhookMessage(OrganizationScoped):
    """One event to deliver to one endpoint. Its id is the `webhook-id` of every attempt, so a receiver
    dedupes retries and redeliveries by it. `position` is the event's, for ordered endpoints."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting for its first or next attempt (next_attempt_at)
        SENDING = "sending", "Sending"  # a worker holds it (lease_expires_at)
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # retries exhausted, or the endpoint was disabled
        CANCELLED = "cancelled", "Cancelled"  # the endpoint was deleted

    OPEN_STATUSES = (Status.PENDING, Status.SENDING)

    id = public_id_field("msg")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="messages")
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="+")
    position = models.BigIntegerField()
    event_type = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = "webhook message"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_message_once_per_endpoint"),
        ]
        indexes = [
            models.Index(fields=["endpoint", "status", "position"], name="webhook_message_endpoint_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_message_due_idx"),
            models.Index(fields=["organization", "created_at"], name="webhook_message_org_idx"),
        ]

    def __str__(self):
        return f"{self.event_type} → {self.endpoint_id} ({self.id})"


class WebhookAttempt(OrganizationScoped):
    """One HTTP request of a message: what was sent when, and what came back."""

    class Trigger(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        MANUAL = "manual", "Redelivered by hand"
        RECOVER = "recover", "Recovered"

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="attempt_log")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.SCHEDULED)
    url = models.URLField(max_length=2000)
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, help_text="The first 4 KiB of the response.")
    error = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "webhook attempt"
        indexes = [models.Index(fields=["message", "number"], name="webhook_attempt_message_idx")]

    def __str__(self):
        return f"{self.message_id} #{self.number}: {self.status_code or self.error[:40]}"
