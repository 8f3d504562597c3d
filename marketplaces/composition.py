"""Plugin membership of config objects, marketplaces and their plugins, and the resolved views. No HTTP.

Memberships are removed softly (`removed_at`); adding again reactivates the same row. Every lookup is
scoped to the caller's organization, so a plugin, object or marketplace of another one is NotFound.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from marketplaces import services
from marketplaces.models import (
    ConfigObjectVersion,
    Marketplace,
    MarketplacePlugin,
    MembershipSource,
    PluginConfigObject,
)
from marketplaces.sharing import CONFIG_OBJECT, MARKETPLACE
from plexica.access import services as access
from plexica.errors import Conflict, NotFound
from plexica.plugins.models import Plugin
from plexica.plugins.sharing import PLUGIN

LATEST_FIELDS = ("id", "created_at", "created_via", "schema_version", "sha256", "is_deleted_version")


def _user(principal):
    return getattr(principal, "user", None) if principal is not None else None


def get_plugin(organization, plugin_id):
    """The plugin known by its `plugin-...` id in this organization, or NotFound."""
    plugin = Plugin.objects.filter(organization=organization, plugin_id=plugin_id).first()
    if plugin is None:
        raise NotFound(f"No plugin {plugin_id} in this organization.", title="Plugin not found")
    return plugin


def _activate(model, lookup, defaults, now=None):
    """Add or reactivate a membership row; (row, created, was_active)."""
    now = now or timezone.now()
    with transaction.atomic():
        row, created = model.objects.select_for_update().get_or_create(**lookup, defaults={**defaults, "added_at": now})
        if created:
            return row, True, False
        if row.removed_at is None:
            return row, False, True
        for name, value in defaults.items():
            setattr(row, name, value)
        row.added_at, row.removed_at = now, None
        row.save()
    return row, False, False


def _deactivate(model, filters, not_found, now=None):
    """Soft-remove the active membership row matching `filters`; raise `not_found` when there is none."""
    if not model.objects.filter(**filters, removed_at__isnull=True).update(removed_at=now or timezone.now()):
        raise not_found


# Plugin membership of config objects


def add_config_object_to_plugin(principal, plugin, obj, source=MembershipSource.API, now=None):
    """Make `obj` a member of `plugin` (both of the principal's organization); (membership, created)."""
    if plugin.organization_id != principal.organization.pk or obj.organization_id != principal.organization.pk:
        raise NotFound("No such plugin or config object in this organization.")
    row, created, _ = _activate(
        PluginConfigObject, {"plugin": plugin, "config_object": obj},
        {"organization": principal.organization, "source": source, "added_by": _user(principal)}, now=now,
    )
    return row, created


def remove_config_object_from_plugin(principal, plugin, obj, now=None):
    """Soft-remove the membership; NotFound when `obj` is not an active member of `plugin`."""
    _deactivate(
        PluginConfigObject, {"organization": principal.organization, "plugin": plugin, "config_object": obj},
        NotFound(f"Config object {obj.pk} is not a member of plugin {plugin.plugin_id}.",
                 title="Membership not found"),
        now,
    )


def plugin_memberships(organization):
    return (PluginConfigObject.objects.filter(organization=organization, removed_at__isnull=True)
            .select_related("plugin", "config_object", "added_by"))


def get_plugin_membership(organization, plugin, obj):
    return plugin_memberships(organization).get(plugin=plugin, config_object=obj)


def create_config_object_in_plugins(principal, type_, source_mode, data, plugin_ids=()):
    """Create a config object (with its first version) as a member of these plugins; all or nothing.

    The caller needs the editor role on each plugin, and becomes the object's manager.
    """
    plugins = [get_plugin(principal.organization, plugin_id) for plugin_id in dict.fromkeys(plugin_ids or ())]
    for plugin in plugins:
        access.require_role(principal, PLUGIN, plugin.pk, access.EDITOR,
                            f"Adding a config object to plugin {plugin.plugin_id} needs the editor role on it")
    with transaction.atomic():
        obj, version = services.create_config_object(principal, type_, source_mode, data)
        access.grant_creator(principal, CONFIG_OBJECT, obj.pk)
        for plugin in plugins:
            add_config_object_to_plugin(principal, plugin, obj, source=MembershipSource.API)
    return obj, version


# Resolved views


def _latest_version_annotations(outer):
    newest = ConfigObjectVersion.objects.filter(config_object=OuterRef(outer)).order_by(
        *ConfigObjectVersion.NEWEST_FIRST
    )
    return {f"latest_version_{name}": Subquery(newest.values(name)[:1]) for name in LATEST_FIELDS}


def _member_objects(plugins):
    """{plugin pk: [config objects with their latest version summary]} in one query, active members only."""
    rows = (PluginConfigObject.objects
            .filter(plugin__in=plugins, removed_at__isnull=True, config_object__deleted_at__isnull=True)
            .select_related("config_object", "config_object__created_by")
            .annotate(**_latest_version_annotations("config_object_id"))
            .order_by("config_object__title", "config_object_id"))
    members = {plugin.pk: [] for plugin in plugins}
    for row in rows:
        obj = row.config_object
        for name in LATEST_FIELDS:
            setattr(obj, f"latest_version_{name}", getattr(row, f"latest_version_{name}"))
        members[row.plugin_id].append(obj)
    return members


@dataclass
class ResolvedPlugin:
    plugin: Plugin
    config_objects: list


def resolve_plugin(organization, plugin_id):
    """The plugin and each active, non-deleted member object with its latest version: two queries."""
    plugin = get_plugin(organization, plugin_id)
    return ResolvedPlugin(plugin, _member_objects([plugin])[plugin.pk])


@dataclass
class ResolvedMarketplace:
    marketplace: Marketplace
    plugins: list


def resolve_marketplace(organization, marketplace_id, include_deleted=False):
    """The marketplace, its active plugins, and each plugin's member objects with latest versions: three queries."""
    marketplace = get_marketplace(organization, marketplace_id, include_deleted=include_deleted)
    plugins = list(Plugin.objects.filter(marketplace_memberships__marketplace=marketplace,
                                         marketplace_memberships__removed_at__isnull=True).order_by("plugin_id"))
    members = _member_objects(plugins)
    return ResolvedMarketplace(marketplace, [ResolvedPlugin(p, members[p.pk]) for p in plugins])


# Marketplaces


def marketplace_queryset(organization, include_deleted=False):
    queryset = Marketplace.objects.filter(organization=organization).select_related("created_by")
    return queryset if include_deleted else queryset.filter(deleted_at__isnull=True)


def get_marketplace(organization, marketplace_id, include_deleted=False):
    found = marketplace_queryset(organization, include_deleted).filter(pk=marketplace_id).first()
    if found is None:
        raise NotFound(f"No marketplace {marketplace_id} in this organization.", title="Marketplace not found")
    return found


def create_marketplace(principal, name, description="", logo_url="", now=None):
    now = now or timezone.now()
    with transaction.atomic():
        marketplace = Marketplace.objects.create(organization=principal.organization, name=name,
                                                 description=description, logo_url=logo_url,
                                                 created_by=_user(principal), created_at=now, updated_at=now)
        access.grant_creator(principal, MARKETPLACE, marketplace.pk)
    return marketplace


def update_marketplace(principal, marketplace_id, **changes):
    """Change name, description and/or logo_url of a marketplace that is not deleted."""
    with transaction.atomic():
        marketplace = _locked_marketplace(principal, marketplace_id)
        for name, value in changes.items():
            setattr(marketplace, name, value)
        marketplace.updated_at = timezone.now()
        marketplace.save(update_fields=[*changes, "updated_at"])
    return marketplace


def _locked_marketplace(principal, marketplace_id, include_deleted=False):
    queryset = Marketplace.objects.select_for_update().filter(organization=principal.organization, pk=marketplace_id)
    marketplace = (queryset if include_deleted else queryset.filter(deleted_at__isnull=True)).first()
    if marketplace is None:
        raise NotFound(f"No marketplace {marketplace_id} in this organization.", title="Marketplace not found")
    return marketplace


def archive_marketplace(principal, marketplace_id):
    """Archive an active marketplace (archiving an archived one changes nothing)."""
    with transaction.atomic():
        marketplace = _locked_marketplace(principal, marketplace_id)
        if marketplace.status != Marketplace.Status.ARCHIVED:
            marketplace.status, marketplace.updated_at = Marketplace.Status.ARCHIVED, timezone.now()
            marketplace.save(update_fields=["status", "updated_at"])
    return marketplace


def restore_marketplace(principal, marketplace_id):
    """Bring an archived or deleted marketplace back to active."""
    with transaction.atomic():
        marketplace = _locked_marketplace(principal, marketplace_id, include_deleted=True)
        if marketplace.status != Marketplace.Status.ACTIVE or marketplace.deleted_at is not None:
            marketplace.status, marketplace.deleted_at = Marketplace.Status.ACTIVE, None
            marketplace.updated_at = timezone.now()
            marketplace.save(update_fields=["status", "deleted_at", "updated_at"])
    return marketplace


def delete_marketplace(principal, marketplace_id, now=None):
    """Soft delete: the row and its memberships stay; lists hide it unless includeDeleted."""
    with transaction.atomic():
        marketplace = _locked_marketplace(principal, marketplace_id)
        marketplace.deleted_at = marketplace.updated_at = now or timezone.now()
        marketplace.save(update_fields=["deleted_at", "updated_at"])
    return marketplace


def add_plugin_to_marketplace(principal, marketplace, plugin, now=None):
    """Offer `plugin` in `marketplace` (both of the principal's organization); (membership, created)."""
    if plugin.organization_id != principal.organization.pk or marketplace.organization_id != principal.organization.pk:
        raise NotFound("No such plugin or marketplace in this organization.")
    if marketplace.deleted_at is not None:
        raise Conflict(f"Marketplace {marketplace.pk} is deleted; restore it first.")
    row, created, _ = _activate(
        MarketplacePlugin, {"marketplace": marketplace, "plugin": plugin},
        {"organization": principal.organization, "added_by": _user(principal)}, now=now,
    )
    return row, created


def remove_plugin_from_marketplace(principal, marketplace, plugin, now=None):
    _deactivate(
        MarketplacePlugin, {"organization": principal.organization, "marketplace": marketplace, "plugin": plugin},
        NotFound(f"Plugin {plugin.plugin_id} is not in marketplace {marketplace.pk}.", title="Membership not found"),
        now,
    )


def marketplace_memberships(organization):
    return (MarketplacePlugin.objects.filter(organization=organization, removed_at__isnull=True)
            .select_related("plugin", "marketplace", "added_by"))


