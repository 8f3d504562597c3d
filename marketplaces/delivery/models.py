"""Releases (immutable snapshots of a plugin's config object versions) and what clients report they installed."""

from django.db import models
from django.utils import timezone

from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from plexica.ids import public_id_field
from plexica.models import Created, CreatedBy, OrganizationScoped


class PluginRelease(OrganizationScoped, Created, CreatedBy):
    """An immutable snapshot of a plugin: the then-latest version of every member config object.

    Delivery serves the rolling latest unless the plugin has a pinned release (at most one).
    """

    id = public_id_field("rel")
    plugin = models.ForeignKey("plugins.Plugin", on_delete=models.CASCADE, related_name="releases")
    name = models.CharField(max_length=100, blank=True, help_text="A label such as 2026.11 or 1.4.0.")
    notes = models.TextField(blank=True)
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


class ClientState(OrganizationScoped):
    """What one client (a desktop app, a CLI) reports it has installed, per caller and client id."""

    client_id = models.CharField(max_length=100)
    owner_key = models.CharField(max_length=48, help_text="mem:<id> or key:<id>: whose client this is")
    items = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "owner_key", "client_id"],
                                               name="client_state_unique")]

    def __str__(self):
        return self.client_id
