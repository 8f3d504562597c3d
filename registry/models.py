from django.db import models
from django.utils import timezone

from plexica.ids import public_id_field
from plexica.models import OrganizationScoped


class ServiceStatus(models.TextChoices):
    HEALTHY = "HEALTHY", "Healthy"
    DEGRADED = "DEGRADED", "Degraded"
    UNAVAILABLE = "UNAVAILABLE", "Unavailable"


class HttpMethod(models.TextChoices):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"


class PluginService(models.Model):
    """An HTTP service a plugin registered. Its name is unique within the organization.

    `status` is the last state the health sweep (or a heartbeat) persisted; the status a reader sees
    is always derived from `last_seen_at` (see services.derive_status).
    """

    id = public_id_field("svc")
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="services")
    plugin = models.ForeignKey("plugins.Plugin", on_delete=models.CASCADE, related_name="services")
    service_name = models.CharField(max_length=200)
    version = models.CharField(max_length=64)
    base_url = models.CharField(max_length=2000, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=ServiceStatus.choices, default=ServiceStatus.HEALTHY)
    last_seen_at = models.DateTimeField(default=timezone.now)
    registered_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service_name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "service_name"], name="service_name_unique_per_org")
        ]
        indexes = [models.Index(fields=["last_seen_at"], name="service_last_seen_idx")]

    def __str__(self):
        return self.service_name


class ServiceEndpoint(models.Model):
    service = models.ForeignKey(PluginService, on_delete=models.CASCADE, related_name="endpoints")
    method = models.CharField(max_length=8, choices=HttpMethod.choices)
    path = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    permissions = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["service", "method", "path"], name="endpoint_unique_per_service")
        ]

    def __str__(self):
        return f"{self.method} {self.path}"


class ServiceStatusTransition(OrganizationScoped):
    """One persisted change of a service's health, for the service's history in the admin."""

    service = models.ForeignKey(PluginService, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=ServiceStatus.choices)
    to_status = models.CharField(max_length=16, choices=ServiceStatus.choices)
    at = models.DateTimeField(default=timezone.now)
    cause = models.CharField(max_length=16, help_text="sweep or heartbeat")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.service}: {self.from_status} → {self.to_status}"
