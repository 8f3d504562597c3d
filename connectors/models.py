"""The GitHub connector: an App installation (account), a named instance, repository targets, path mappings,
sync events, and per-file source bindings and tombstones.

Every row carries its organization (the core's OrganizationScoped), so every query can be filtered by the
caller's organization; created/updated times and the creating user come from the core bases too.
"""

from django.db import models
from django.utils import timezone

from marketplaces.config_objects.models import ConfigObjectType
from plexica.ids import public_id_field
from plexica.models import CreatedBy, OrganizationScoped, Timestamped


class Provider(models.TextChoices):
    GITHUB = "github", "GitHub"


class ConnectorAccount(OrganizationScoped, Timestamped, CreatedBy):
    """One GitHub App installation connected to an organization; an installation belongs to one organization
    only, for good (GitHub never reuses an installation id, so a disconnected account still holds it)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        DISCONNECTED = "disconnected", "Disconnected"
        ERROR = "error", "Error"

    class AccountType(models.TextChoices):
        ORGANIZATION = "Organization", "Organization"
        USER = "User", "User"

    id = public_id_field("cac")
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.GITHUB)
    installation_id = models.BigIntegerField(help_text="The GitHub App installation id.")
    account_login = models.CharField(max_length=100, blank=True)
    account_type = models.CharField(max_length=16, choices=AccountType.choices, blank=True)
    display_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    disconnected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            # One organization per installation: the App's token reads whatever the installation can, so a
            # second organization holding the same id could sync the first one's private files.
            models.UniqueConstraint(fields=["provider", "installation_id"],
                                    name="connector_account_installation_unique"),
        ]

    def __str__(self):
        return self.display_name or self.account_login or f"installation {self.installation_id}"


class ConnectorInstance(OrganizationScoped, Timestamped, CreatedBy):
    """A named, configured use of a connector account (unique name per organization)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"
        ARCHIVED = "archived", "Archived"
        ERROR = "error", "Error"

    id = public_id_field("cin")
    account = models.ForeignKey(ConnectorAccount, on_delete=models.PROTECT, related_name="instances")
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.GITHUB)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_sync_status = models.CharField(max_length=16, blank=True)
    last_sync_revision = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="connector_instance_name_unique"),
        ]

    def __str__(self):
        return self.name


class ConnectorTarget(OrganizationScoped, Timestamped):
    """A repository branch an instance syncs from."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"

    id = public_id_field("ctg")
    instance = models.ForeignKey(ConnectorInstance, on_delete=models.CASCADE, related_name="targets")
    repository_id = models.BigIntegerField(help_text="GitHub's numeric repository id (stable across renames).")
    repository_full_name = models.CharField(max_length=200, help_text="owner/name")
    branch = models.CharField(max_length=255)
    ref = models.CharField(max_length=300, help_text="refs/heads/<branch>")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    disabled_reason = models.CharField(max_length=300, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_synced_sha = models.CharField(max_length=64, blank=True, help_text="Head SHA of the last completed sync.")

    class Meta:
        ordering = ["repository_full_name", "branch", "id"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "repository_id", "branch"], name="connector_target_unique"),
        ]
        indexes = [models.Index(fields=["repository_id", "status"], name="ctg_repository_idx")]

    def __str__(self):
        return f"{self.repository_full_name}@{self.branch}"

    def save(self, *args, **kwargs):
        self.ref = f"refs/heads/{self.branch}"
        super().save(*args, **kwargs)


class ConnectorMapping(OrganizationScoped, Timestamped):
    """Files matching a path glob (`sales/skills/**`) become config objects of one type, optionally in a plugin."""

    id = public_id_field("cmp")
    target = models.ForeignKey(ConnectorTarget, on_delete=models.CASCADE, related_name="mappings")
    selector = models.CharField(max_length=500, help_text="A path glob such as sales/skills/**/*.md")
    object_type = models.CharField(max_length=16, choices=ConfigObjectType.choices)
    plugin = models.ForeignKey("plugins.Plugin", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    auto_add_to_plugin = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0, help_text="The first matching mapping wins.")

    class Meta:
        ordering = ["position", "created_at", "id"]

    def __str__(self):
        return f"{self.selector} -> {self.object_type}"


class SyncEvent(OrganizationScoped, Timestamped, CreatedBy):
    """One unit of sync work for a target, and its outcome."""

    class Type(models.TextChoices):
        PUSH = "push", "Push"
        INSTALLATION = "installation", "Installation"
        INSTALLATION_REPOSITORIES = "installation_repositories", "Installation repositories"
        REPOSITORY = "repository", "Repository"
        MANUAL_RESYNC = "manual_resync", "Manual resync"

    class Trigger(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        MANUAL = "manual", "Manual"
        RECONCILE = "reconcile", "Reconcile"
        RETRY = "retry", "Retry"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        PARTIAL = "partial", "Partial"
        IGNORED = "ignored", "Ignored"

    OPEN_STATUSES = (Status.QUEUED, Status.RUNNING)

    id = public_id_field("sev")
    target = models.ForeignKey(ConnectorTarget, on_delete=models.CASCADE, related_name="sync_events")
    event_type = models.CharField(max_length=32, choices=Type.choices)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.WEBHOOK)
    delivery_id = models.CharField(max_length=100, blank=True)
    head_sha = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True, help_text="A running event whose lease "
                                            "has expired belongs to a worker that died; it may be claimed again.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True,
                               help_text="created/updated/deleted/skipped counts and per-file errors")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["target", "head_sha"], condition=models.Q(event_type="push"),
                                    name="sync_event_push_sha_unique"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="sev_claim_idx"),
            models.Index(fields=["target", "-created_at"], name="sev_target_idx"),
            models.Index(fields=["organization", "-created_at"], name="sev_org_idx"),
        ]

    def __str__(self):
        what = self.get_event_type_display()
        return f"{what} {self.head_sha[:10]}" if self.head_sha else what


class SourceBinding(OrganizationScoped, Timestamped):
    """The link between a repository path and the config object it became. Closed when the file goes away."""

    target = models.ForeignKey(ConnectorTarget, on_delete=models.CASCADE, related_name="bindings")
    mapping = models.ForeignKey(ConnectorMapping, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    config_object = models.ForeignKey("marketplaces.ConfigObject", on_delete=models.CASCADE,
                                      related_name="source_bindings")
    path = models.CharField(max_length=1024)
    last_seen_revision = models.CharField(max_length=64, blank=True)
    last_blob_sha = models.CharField(max_length=64, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["path", "id"]
        constraints = [
            models.UniqueConstraint(fields=["target", "path"], condition=models.Q(closed_at__isnull=True),
                                    name="source_binding_open_path_unique"),
        ]

    def __str__(self):
        return f"{self.path} -> {self.config_object_id}"


class SourceTombstone(OrganizationScoped):
    """A path that was removed from the branch. If it comes back it becomes a new config object."""

    target = models.ForeignKey(ConnectorTarget, on_delete=models.CASCADE, related_name="tombstones")
    config_object = models.ForeignKey("marketplaces.ConfigObject", on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=1024)
    revision = models.CharField(max_length=64, blank=True, help_text="The head SHA in which the file was gone.")
    removed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-removed_at", "-id"]
        indexes = [models.Index(fields=["target", "path"], name="tombstone_target_path_idx")]

    def __str__(self):
        return f"{self.path} removed at {self.revision[:10]}"


# The integrations' models live in their own package; importing them here registers them with this app.
from connectors.integrations.models import (  # noqa: E402, F401
    IntegrationDefinition,
    IntegrationExecution,
    IntegrationInstance,
    OAuthState,
)
