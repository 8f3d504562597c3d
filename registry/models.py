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

    `status` is the last state the health sweep, a heartbeat or a health check persisted; the status a
    reader sees is always derived from `last_seen_at` and `check_status` (see services.derive_status).
    The check_* columns are the active health checks' state (registry/health_checks.py): `check_status`
    is what the last checks alone say, with the thresholds' hysteresis; `next_check_at` is the claim
    that keeps two check runs from checking the service twice in one period.
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
    check_status = models.CharField(max_length=16, choices=ServiceStatus.choices, default=ServiceStatus.HEALTHY,
                                    help_text="What the active health checks alone say.")
    check_failures = models.PositiveIntegerField(default=0, help_text="Consecutive failed checks.")
    check_successes = models.PositiveIntegerField(default=0, help_text="Consecutive passing (or warning) checks.")
    last_check_at = models.DateTimeField(null=True, blank=True)
    last_check_outcome = models.CharField(max_length=8, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True, help_text="Not checked again before this.")

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
    cause = models.CharField(max_length=16, help_text="sweep, heartbeat, register or check")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.service}: {self.from_status} → {self.to_status}"


class CheckOutcome(models.TextChoices):
    PASS = "pass", "Pass"
    WARN = "warn", "Warn"
    FAIL = "fail", "Fail"


class ServiceHealthCheck(OrganizationScoped):
    """One active health check of a service: what its health path answered. The last
    REGISTRY_HEALTH_CHECK_HISTORY per service are kept."""

    service = models.ForeignKey(PluginService, on_delete=models.CASCADE, related_name="health_checks")
    at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=8, choices=CheckOutcome.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    url = models.CharField(max_length=2600, blank=True)
    reason = models.CharField(max_length=500, blank=True, help_text="Why it failed or warned (trimmed).")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["service", "-at"], name="health_check_service_at_idx")]

    def __str__(self):
        return f"{self.service}: {self.outcome} at {self.at:%Y-%m-%d %H:%M:%S}"
