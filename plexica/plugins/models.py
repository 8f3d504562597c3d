import semver
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from plexica.ids import PLUGIN_ID_PATTERN, public_id_field
from plexica.models import OrganizationScoped

plugin_id_validator = RegexValidator(
    PLUGIN_ID_PATTERN, "A plugin id is 'plugin-' followed by lowercase letters, digits and hyphens."
)

# semver.org's regular expression for SemVer 2.0 (with ASCII digits), which validate_semver agrees with; the
# OpenAPI schema states it (tests/api/test_schema_constraints.py checks that both agree).
_SEMVER_NUMBER = r"(0|[1-9][0-9]*)"
_SEMVER_PRERELEASE = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
SEMVER_PATTERN = (
    rf"^{_SEMVER_NUMBER}\.{_SEMVER_NUMBER}\.{_SEMVER_NUMBER}"
    rf"(?:-({_SEMVER_PRERELEASE}(?:\.{_SEMVER_PRERELEASE})*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def validate_semver(value):
    if not semver.Version.is_valid(value):
        raise ValidationError(f"'{value}' is not a valid semantic version (for example 1.4.0).")


class Plugin(models.Model):
    """A plugin in one organization's catalog, known by its `plugin-{name}` id."""

    class LifecycleState(models.TextChoices):
        REGISTERED = "registered", "Registered"
        INSTALLED = "installed", "Installed"
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"
        UNINSTALLED = "uninstalled", "Uninstalled"

    class CatalogStatus(models.TextChoices):
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"
        DELETED = "deleted", "Deleted"

    # States in which the plugin counts as installed (dependency resolution checks these).
    INSTALLED_STATES = (LifecycleState.INSTALLED, LifecycleState.ACTIVE, LifecycleState.DISABLED)

    id = public_id_field("plg")
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="plugins")
    plugin_id = models.CharField("plugin id", max_length=100, validators=[plugin_id_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    version = models.CharField(max_length=64, default="0.0.0", validators=[validate_semver])
    manifest = models.JSONField(default=dict, blank=True)
    lifecycle_state = models.CharField(
        max_length=16, choices=LifecycleState.choices, default=LifecycleState.REGISTERED
    )
    catalog_status = models.CharField(max_length=16, choices=CatalogStatus.choices, default=CatalogStatus.ACTIVE)
    installed_at = models.DateTimeField(null=True, blank=True, editable=False,
                                        help_text="When the plugin was last installed (the status API's loaded_ms "
                                                  "counts from here).")
    loaded_at = models.DateTimeField(null=True, blank=True, editable=False,
                                     help_text="The first healthy heartbeat (or passing check) after the last "
                                               "install.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization__slug", "plugin_id"]
        constraints = [models.UniqueConstraint(fields=["organization", "plugin_id"], name="plugin_id_unique_per_org")]

    def __str__(self):
        """How lists, panels and messages name it: "CRM (plugin-crm)"."""
        return f"{self.name} ({self.plugin_id})" if self.name and self.name != self.plugin_id else self.plugin_id

    @property
    def is_installed(self):
        return self.lifecycle_state in self.INSTALLED_STATES

    def clean(self):
        if self.manifest is not None and not isinstance(self.manifest, dict):
            raise ValidationError({"manifest": "The manifest must be a JSON object."})
        problem = manifest_capabilities_error(self.manifest)
        if problem:
            raise ValidationError({"manifest": problem})


class Capability(models.TextChoices):
    """What a plugin may do on the platform (the extensions seed's capabilities); org admins grant them."""

    ROUTES = "ROUTES", "Routes: register HTTP services"
    TOOLS = "TOOLS", "Tools: expose tools (endpoints with an input schema, MCP)"
    EVENTS_PUB = "EVENTS_PUB", "Events, publish: emit events"
    EVENTS_SUB = "EVENTS_SUB", "Events, subscribe: the event log, its stream, webhooks"
    BACKGROUND_TASKS = "BACKGROUND_TASKS", "Background tasks: run work in the background (not enforced yet)"
    STATIC = "STATIC", "Static: serve static files (not enforced yet)"


def manifest_capabilities_error(manifest):
    """Why the manifest's `capabilities` (a list of Capability names, optional) is refused, or None."""
    if not isinstance(manifest, dict) or "capabilities" not in manifest:
        return None
    requested = manifest["capabilities"]
    if not isinstance(requested, list) or not all(isinstance(name, str) for name in requested):
        return f"capabilities: a list of capability names ({', '.join(Capability.values)})."
    unknown = [name for name in requested if name not in Capability.values]
    if unknown:
        return (f"capabilities: unknown capability {', '.join(repr(name[:40]) for name in unknown[:5])}; "
                f"known: {', '.join(Capability.values)}.")
    return None


PERMISSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:*-]{0,199}$"
permission_validator = RegexValidator(
    PERMISSION_PATTERN, "A permission is letters, digits and . _ : * - (for example crm:contacts:read)."
)


class PermissionGrant(OrganizationScoped):
    """The organization lets `plugin` use endpoints that require `permission`."""

    plugin = models.ForeignKey(Plugin, on_delete=models.CASCADE, related_name="permission_grants")
    permission = models.CharField(max_length=200, validators=[permission_validator])
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["plugin__plugin_id", "permission"]
        constraints = [
            models.UniqueConstraint(fields=["plugin", "permission"], name="permission_grant_unique_per_plugin")
        ]

    def __str__(self):
        return f"{self.plugin} may {self.permission}"

    def save(self, *args, **kwargs):
        if self.plugin_id and not self.organization_id:
            self.organization_id = self.plugin.organization_id
        super().save(*args, **kwargs)

    def clean(self):
        if self.plugin_id and self.organization_id and self.plugin.organization_id != self.organization_id:
            raise ValidationError({"plugin": "This plugin belongs to another organization."})


class PluginCapabilityGrant(OrganizationScoped):
    """The organization lets `plugin` use `capability`; revoking keeps the row (`revoked_at`), for history and
    so that a plugin whose grants were all revoked is not mistaken for one that never had any."""

    plugin = models.ForeignKey(Plugin, on_delete=models.CASCADE, related_name="capability_grants")
    capability = models.CharField(max_length=32, choices=Capability.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["plugin__plugin_id", "capability"]
        constraints = [
            models.UniqueConstraint(fields=["plugin", "capability"], name="capability_grant_unique_per_plugin")
        ]

    def __str__(self):
        state = "" if self.revoked_at is None else " (revoked)"
        return f"{self.plugin} holds {self.capability}{state}"

    @property
    def is_active(self):
        return self.revoked_at is None


class LifecycleTransition(OrganizationScoped):
    """One change of a plugin's lifecycle state: who did what, when, from which state to which."""

    class Action(models.TextChoices):
        INSTALL = "install", "Install"
        ENABLE = "enable", "Enable"
        DISABLE = "disable", "Disable"
        UNINSTALL = "uninstall", "Uninstall"

    class Via(models.TextChoices):
        API = "api", "API"
        ADMIN = "admin", "Admin"

    plugin = models.ForeignKey(Plugin, on_delete=models.CASCADE, related_name="lifecycle_transitions")
    action = models.CharField(max_length=16, choices=Action.choices)
    from_state = models.CharField(max_length=16, choices=Plugin.LifecycleState.choices)
    to_state = models.CharField(max_length=16, choices=Plugin.LifecycleState.choices)
    version = models.CharField(max_length=64, help_text="The plugin's version after the transition.")
    actor = models.CharField(max_length=200, help_text="Who did it, as shown when it happened.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    api_key = models.ForeignKey(
        "tenancy.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    via = models.CharField(max_length=8, choices=Via.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["plugin", "-at"], name="lifecycle_plugin_at_idx")]

    def __str__(self):
        return f"{self.plugin}: {self.from_state} → {self.to_state} ({self.action} by {self.actor})"
