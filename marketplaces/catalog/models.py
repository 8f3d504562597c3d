"""The catalog's rows: a config object's membership of a plugin (PluginConfigObject), marketplaces and the
plugins they offer (MarketplacePlugin). Memberships are removed softly and come back as the same row."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from marketplaces.config_objects.models import ConfigObject
from plexica.ids import public_id_field
from plexica.models import CreatedBy, OrganizationScoped, SoftDeleted, SoftMembership, Timestamped


class MembershipSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    CONNECTOR = "connector", "Connector"
    API = "api", "API"
    ADMIN = "admin", "Admin"
    SYSTEM = "system", "System"


class AddedBy(models.Model):
    """Who added a membership row (kept as null when the user is deleted)."""

    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True


class PluginConfigObject(OrganizationScoped, AddedBy, SoftMembership):
    """A config object's membership of a plugin. Removal is soft (`removed_at`); re-adding reactivates the row."""

    Source = MembershipSource

    plugin = models.ForeignKey("plugins.Plugin", on_delete=models.CASCADE, related_name="config_object_memberships")
    config_object = models.ForeignKey(ConfigObject, on_delete=models.CASCADE, related_name="plugin_memberships")
    source = models.CharField(max_length=16, choices=MembershipSource.choices, default=MembershipSource.MANUAL)

    class Meta:
        ordering = ["-added_at", "-id"]
        verbose_name = "plugin membership"
        constraints = [models.UniqueConstraint(fields=["plugin", "config_object"], name="plugin_config_object_unique")]
        indexes = [models.Index(fields=["config_object", "removed_at"], name="pco_object_active_idx")]

    def __str__(self):
        plugin = self.plugin
        named = f"{plugin.name} ({plugin.plugin_id})" if plugin.name and plugin.name != plugin.plugin_id else plugin
        return f"{self.config_object} in {named}"


def validate_logo_url(value):
    """Logos are https URLs or root-relative paths (`/static/...`); nothing else (no http, data:, javascript:)."""
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


class Marketplace(OrganizationScoped, Timestamped, CreatedBy, SoftDeleted):
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

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="mkt_org_created_idx")]

    def __str__(self):
        return self.name


class MarketplacePlugin(OrganizationScoped, AddedBy, SoftMembership):
    """A plugin offered in a marketplace. Removal is soft (`removed_at`); re-adding reactivates the row."""

    marketplace = models.ForeignKey(Marketplace, on_delete=models.CASCADE, related_name="plugin_memberships")
    plugin = models.ForeignKey("plugins.Plugin", on_delete=models.CASCADE, related_name="marketplace_memberships")
    source = models.CharField(max_length=16, choices=MembershipSource.choices, default=MembershipSource.MANUAL)

    class Meta:
        ordering = ["-added_at", "-id"]
        verbose_name = "marketplace plugin"
        constraints = [models.UniqueConstraint(fields=["marketplace", "plugin"], name="marketplace_plugin_unique")]

    def __str__(self):
        plugin = self.plugin
        named = f"{plugin.name} ({plugin.plugin_id})" if plugin.name and plugin.name != plugin.plugin_id else plugin
        return f"{named} in {self.marketplace}"

    def clean(self):
        if self.marketplace_id and not self.organization_id:
            self.organization_id = self.marketplace.organization_id
        if self.plugin_id and self.organization_id and self.plugin.organization_id != self.organization_id:
            raise ValidationError({"plugin": "This plugin belongs to another organization."})
