"""Integration definitions (the platform's or one organization's), instances (always one organization's),
their executions, and the single-use OAuth2 states of a connection in progress.

Credentials (tokens, API keys, passwords, client secrets) live only in encrypted columns and are never
returned by the API or shown by the admin.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from plexica.crypto import EncryptedJSONField, EncryptedTextField
from plexica.ids import public_id_field
from plexica.models import Created, CreatedBy, OrganizationScoped, Timestamped


class AuthType(models.TextChoices):
    OAUTH2 = "oauth2", "OAuth2"
    API_KEY = "api_key", "API key"
    BASIC = "basic", "Basic"
    NONE = "none", "None"


class IntegrationDefinition(Timestamped, CreatedBy):
    """A third-party API: its methods (parameters and results as JSON Schema, a declarative request each),
    its configuration schema and defaults, and how instances authenticate. `organization` is None for the
    platform's definitions (made by superusers, offered to every organization)."""

    class Status(models.TextChoices):
        DRAFT = "DRAFT", "Draft"
        PUBLISHED = "PUBLISHED", "Published"
        DEPRECATED = "DEPRECATED", "Deprecated"
        ARCHIVED = "ARCHIVED", "Archived"

    class ResultCheck(models.TextChoices):
        WARN = "warn", "Warn (record and report the mismatch, return the data)"
        ERROR = "error", "Error (a mismatch is an EXECUTION_ERROR)"

    id = public_id_field("idef")
    organization = models.ForeignKey("tenancy.Organization", null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="+", help_text="Empty for the platform's definitions.")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    version = models.CharField(max_length=64, help_text="Semantic version, e.g. 1.0.0.")
    type = models.CharField(max_length=32, default="http")
    auth_type = models.CharField(max_length=16, choices=AuthType.choices, default=AuthType.NONE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    methods = models.JSONField(default=list, blank=True)
    config_schema = models.JSONField(default=dict, blank=True)
    default_config = models.JSONField(default=dict, blank=True)
    oauth2_config = models.JSONField(null=True, blank=True)
    api_key_config = models.JSONField(null=True, blank=True)
    oauth_client_id = models.CharField(max_length=200, blank=True,
                                       help_text="The OAuth app used when an instance's config names none.")
    oauth_client_secret = EncryptedTextField(null=True, blank=True)
    result_check = models.CharField(max_length=8, choices=ResultCheck.choices, default=ResultCheck.WARN)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("name", "version")
        constraints = [
            models.UniqueConstraint(fields=("organization", "name", "version"), condition=Q(organization__isnull=False),
                                    name="integration_definition_unique_per_org"),
            models.UniqueConstraint(fields=("name", "version"), condition=Q(organization__isnull=True),
                                    name="integration_definition_unique_platform"),
        ]
        indexes = [models.Index(fields=("organization", "status"))]

    def __str__(self):
        return f"{self.name} {self.version}"

    @property
    def is_platform(self):
        return self.organization_id is None

    def method(self, name):
        return next((method for method in self.methods or [] if method.get("name") == name), None)


class IntegrationInstance(OrganizationScoped, Timestamped, CreatedBy):
    """One organization's connection to a definition's API: its config (merged over the definition's
    defaults), its credentials (encrypted) and where it stands."""

    class Status(models.TextChoices):
        PENDING_CONFIGURATION = "PENDING_CONFIGURATION", "Pending configuration"
        PENDING_AUTHENTICATION = "PENDING_AUTHENTICATION", "Pending authentication"
        CONNECTED = "CONNECTED", "Connected"
        DISCONNECTED = "DISCONNECTED", "Disconnected"
        AUTH_ERROR = "AUTH_ERROR", "Authentication error"
        CONFIG_ERROR = "CONFIG_ERROR", "Configuration error"

    id = public_id_field("iins")
    definition = models.ForeignKey(IntegrationDefinition, on_delete=models.PROTECT, related_name="instances")
    name = models.CharField(max_length=200)
    config = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.PENDING_CONFIGURATION)
    status_reason = models.CharField(max_length=500, blank=True)
    credentials = EncryptedJSONField(null=True, blank=True)
    # Not secret, kept beside the tokens so refreshes can be planned and raced safely.
    token_expires_at = models.DateTimeField(null=True, blank=True)
    credentials_version = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_connected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=("organization", "name"),
                                               name="integration_instance_unique_name")]
        indexes = [models.Index(fields=("organization", "status"))]

    def __str__(self):
        return self.name

    @property
    def has_credentials(self):
        return bool(self.credentials)


class IntegrationExecution(OrganizationScoped, Created):
    """One call of a method: who asked, when, how long it took, how many attempts, the outcome. Parameters
    and results are kept (encrypted) only while the run needs them, unless INTEGRATION_RECORD_PAYLOADS."""

    class Status(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        RUNNING = "RUNNING", "Running"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"

    id = public_id_field("iexe")
    instance = models.ForeignKey(IntegrationInstance, on_delete=models.CASCADE, related_name="executions")
    method = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    is_async = models.BooleanField(default=False)
    outcome = models.CharField(max_length=32, blank=True, help_text="SUCCESS or the error code.")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True,
                                                   help_text="The status our API answered (or would have).")
    provider_status = models.PositiveSmallIntegerField(null=True, blank=True)
    message = models.CharField(max_length=1000, blank=True)
    details = models.JSONField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_after = models.FloatField(null=True, blank=True)
    actor_type = models.CharField(max_length=16, blank=True)
    actor_id = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    deadline = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    parameters = EncryptedJSONField(null=True, blank=True)
    result = EncryptedJSONField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=("organization", "instance", "-created_at")),
                   models.Index(fields=("organization", "outcome"))]

    def __str__(self):
        return f"{self.method} ({self.outcome or self.status})"

    @property
    def is_finished(self):
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class OAuthState(OrganizationScoped, Created, CreatedBy):
    """An authorization in progress: the `state` (stored as its SHA-256), bound to one instance, used once,
    within OAUTH_STATE_TTL; the PKCE verifier (encrypted) and the redirect URI the code is exchanged with."""

    state_hash = models.CharField(max_length=64, unique=True)
    instance = models.ForeignKey(IntegrationInstance, on_delete=models.CASCADE, related_name="+")
    code_verifier = EncryptedTextField()
    redirect_uri = models.URLField(max_length=2000)
    expires_at = models.DateTimeField()

    @property
    def is_expired(self):
        return self.expires_at <= timezone.now()
