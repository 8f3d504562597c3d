"""Config objects: a stable identity (ConfigObject) and its immutable versions (ConfigObjectVersion)."""

from django.db import models

from plexica.crypto import EncryptedJSONField, EncryptedTextField
from plexica.ids import public_id_field
from plexica.models import Created, CreatedBy, OrganizationScoped, SoftDeleted, Timestamped


class ConfigObjectType(models.TextChoices):
    SKILL = "skill", "Skill"
    AGENT = "agent", "Agent"
    COMMAND = "command", "Command"
    TOOL = "tool", "Tool"
    MCP = "mcp", "MCP server"
    HOOK = "hook", "Hook"
    CONTEXT = "context", "Context"
    CUSTOM = "custom", "Custom"


class ConfigObject(OrganizationScoped, Timestamped, CreatedBy, SoftDeleted):
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

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="cfo_org_created_idx"),
            models.Index(fields=["organization", "type", "status"], name="cfo_org_type_status_idx"),
        ]

    def __str__(self):
        return self.title or self.id

    def latest_version(self):
        return self.versions.order_by(*ConfigObjectVersion.NEWEST_FIRST).first()


class VersionIsImmutable(Exception):
    """A stored version is never changed; add a new version instead."""


class ConfigObjectVersion(Created, CreatedBy):
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
    source_revision = models.CharField(max_length=200, blank=True, help_text="For example a commit SHA.")
    is_deleted_version = models.BooleanField(default=False)
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the canonical parsed content.")

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
