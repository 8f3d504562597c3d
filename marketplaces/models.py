from django.conf import settings
from django.db import models
from django.utils import timezone

from plexica.crypto import EncryptedJSONField, EncryptedTextField
from plexica.ids import public_id_field


class ConfigObjectType(models.TextChoices):
    SKILL = "skill", "Skill"
    AGENT = "agent", "Agent"
    COMMAND = "command", "Command"
    TOOL = "tool", "Tool"
    MCP = "mcp", "MCP server"
    HOOK = "hook", "Hook"
    CONTEXT = "context", "Context"
    CUSTOM = "custom", "Custom"


class ConfigObject(models.Model):
    """A config object's stable identity and its current projection; the history is in its versions.

    The latest version is the newest by (created_at, id); no pointer to it is stored.
    """

    Type = ConfigObjectType

    class SourceMode(models.TextChoices):
        CLOUD = "cloud", "Cloud (edited here)"
        IMPORT = "import", "Import"
        CONNECTOR = "connector", "Connector"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        ARCHIVED = "archived", "Archived"
        DELETED = "deleted", "Deleted"
        INGESTION_ERROR = "ingestion_error", "Ingestion error"

    id = public_id_field("cfo")
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="config_objects")
    type = models.CharField(max_length=16, choices=ConfigObjectType.choices)
    source_mode = models.CharField(max_length=16, choices=SourceMode.choices, default=SourceMode.CLOUD)
    title = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    search_text = models.TextField(blank=True, editable=False)
    file_name = models.CharField(max_length=255, blank=True)
    file_extension = models.CharField(max_length=32, blank=True)
    relative_path = models.CharField(max_length=1024, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="cfo_org_created_idx"),
            models.Index(fields=["organization", "type", "status"], name="cfo_org_type_status_idx"),
        ]

    def __str__(self):
        return self.title or self.id

    @property
    def is_deleted(self):
        return self.deleted_at is not None

    def latest_version(self):
        return self.versions.order_by(*ConfigObjectVersion.NEWEST_FIRST).first()


class VersionIsImmutable(Exception):
    """A stored version is never changed; add a new version instead."""


class ConfigObjectVersion(models.Model):
    """One immutable state of a config object: raw source text and/or normalized JSON, both encrypted."""

    NEWEST_FIRST = ("-created_at", "-id")

    class CreatedVia(models.TextChoices):
        CLOUD = "cloud", "Cloud"
        IMPORT = "import", "Import"
        CONNECTOR = "connector", "Connector"
        SYSTEM = "system", "System"

    id = public_id_field("ver")
    config_object = models.ForeignKey(ConfigObject, on_delete=models.CASCADE, related_name="versions")
    raw_source_text = EncryptedTextField(null=True, blank=True)
    normalized_payload_json = EncryptedJSONField(null=True, blank=True)
    schema_version = models.CharField(max_length=32, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_via = models.CharField(max_length=16, choices=CreatedVia.choices, default=CreatedVia.CLOUD)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_revision = models.CharField(max_length=200, blank=True, help_text="For example a commit SHA.")
    is_deleted_version = models.BooleanField(default=False)
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the canonical parsed content.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["config_object", "-created_at", "-id"], name="ver_object_newest_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(raw_source_text__isnull=False) | models.Q(normalized_payload_json__isnull=False),
                name="ver_has_a_payload",
            )
        ]

    def __str__(self):
        return self.id

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise VersionIsImmutable(f"Version {self.pk} is immutable; create a new version instead.")
        super().save(*args, **kwargs)


class MembershipSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    CONNECTOR = "connector", "Connector"
    API = "api", "API"
    SYSTEM = "system", "System"


class PluginConfigObject(models.Model):
    """A config object's membership of a plugin. Removal is soft (`removed_at`); re-adding reactivates the row."""

    Source = MembershipSource

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    plugin = models.ForeignKey("plugins.Plugin", on_delete=models.CASCADE, related_name="config_object_memberships")
    config_object = models.ForeignKey(ConfigObject, on_delete=models.CASCADE, related_name="plugin_memberships")
    source = models.CharField(max_length=16, choices=MembershipSource.choices, default=MembershipSource.MANUAL)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-added_at", "-id"]
        verbose_name = "plugin membership"
        constraints = [models.UniqueConstraint(fields=["plugin", "config_object"], name="plugin_config_object_unique")]
        indexes = [models.Index(fields=["config_object", "removed_at"], name="pco_object_active_idx")]

    def __str__(self):
        return f"{self.config_object_id} in {self.plugin_id}"

    @property
    def is_active(self):
        return self.removed_at is None


def validate_logo_url(value):
    """Logos are https URLs or root-relative paths (`/static/...`); nothing else (no http, data:, javascript:)."""
    from urllib.parse import urlsplit

    from django.core.exceptions import ValidationError

    message = "A logo URL is an https URL or a root-relative path such as /static/logo.png."
    if not value:
        return
    if any(ch.isspace() or ord(ch) < 32 for ch in value) or "\\" in value:
        raise ValidationError(message)
    if value.startswith("/"):
        if value.startswith("//"):
            raise ValidationError(message)
        return
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:  # an unclosed "[" or a host that NFKC-normalizes to a delimiter ("https://＃a")
        raise ValidationError(message) from None
    if parts.scheme.lower() != "https" or not hostname:
        raise ValidationError(message)


class Marketplace(models.Model):
    """A curated set of plugins an organization offers."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    id = public_id_field("mkt")
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="marketplaces")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    logo_url = models.CharField("logo URL", max_length=2048, blank=True, validators=[validate_logo_url])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="mkt_org_created_idx")]

    def __str__(self):
        return self.name


class MarketplacePlugin(models.Model):
    """A plugin offered in a marketplace. Removal is soft (`removed_at`); re-adding reactivates the row."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    marketplace = models.ForeignKey(Marketplace, on_delete=models.CASCADE, related_name="plugin_memberships")
    plugin = models.ForeignKey("plugins.Plugin", on_delete=models.CASCADE, related_name="marketplace_memberships")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-added_at", "-id"]
        verbose_name = "marketplace plugin"
        constraints = [models.UniqueConstraint(fields=["marketplace", "plugin"], name="marketplace_plugin_unique")]

    def __str__(self):
        return f"{self.plugin} in {self.marketplace}"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.marketplace_id and not self.organization_id:
            self.organization_id = self.marketplace.organization_id
        if self.plugin_id and self.organization_id and self.plugin.organization_id != self.organization_id:
            raise ValidationError({"plugin": "This plugin belongs to another organization."})


class PluginRelease(models.Model):
    """An immutable snapshot of a plugin: the then-latest version of every member config object.

    Delivery serves the rolling latest unless the plugin has a pinned release (at most one).
    """

    id = public_id_field("rel")
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    plugin = models.ForeignKey("plugins.Plugin", on_delete=models.CASCADE, related_name="releases")
    name = models.CharField(max_length=100, blank=True, help_text="A label such as 2026.11 or 1.4.0.")
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    pinned_at = models.DateTimeField(null=True, blank=True, help_text="Delivery serves this release while set.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["plugin"], condition=models.Q(pinned_at__isnull=False),
                                    name="plugin_release_one_pinned"),
        ]

    def __str__(self):
        return self.name or self.id


class PluginReleaseItem(models.Model):
    """One config object version in a release."""

    release = models.ForeignKey(PluginRelease, on_delete=models.CASCADE, related_name="items")
    config_object = models.ForeignKey(ConfigObject, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(ConfigObjectVersion, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["release", "config_object"], name="release_item_unique")]

    def __str__(self):
        return f"{self.config_object_id}@{self.version_id}"


class ClientState(models.Model):
    """What one client (a desktop app, a CLI) reports it has installed, per caller and client id."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    client_id = models.CharField(max_length=100)
    owner_key = models.CharField(max_length=48, help_text="mem:<id> or key:<id>: whose client this is")
    items = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "owner_key", "client_id"],
                                               name="client_state_unique")]

    def __str__(self):
        return self.client_id
