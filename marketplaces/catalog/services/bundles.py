"""Plugins as bundles of config objects: membership, creating an object into plugins, the resolved plugin.
No HTTP.

Each public function takes the acting principal first and checks its own rule. Adding a member exposes it
to everyone who can see the plugin, so it takes the editor role on both the plugin and the object; removing
one takes the editor role on the plugin (and sight of the object). Reading takes the viewer role. Every
lookup is scoped to the caller's organization, so a plugin or object of another one is NotFound, before
any 403.
"""

from dataclasses import dataclass

from django.db import transaction

from marketplaces.catalog.models import MembershipSource, PluginConfigObject
from marketplaces.catalog.services.membership_rows import activate, deactivate
from marketplaces.catalog.services.plugins import lookup_plugin, require_plugin_role
from marketplaces.config_objects import services as config_objects
from marketplaces.sharing import CONFIG_OBJECT
from plexica.access import services as access
from plexica.errors import NotFound
from plexica.events.log import emit
from plexica.plugins.models import Plugin
from plexica.plugins.sharing import PLUGIN

MEMBERSHIP_EDIT = "Changing a plugin's config objects needs the editor role on the plugin"
MEMBER_OBJECT_EDIT = "Adding a config object to a plugin needs the editor role on the config object"


def plugin_memberships(organization):
    """The active memberships of `organization`, with their plugin, object and who added them (for display)."""
    return (PluginConfigObject.objects.filter(organization=organization, removed_at__isnull=True)
            .select_related("plugin", "config_object", "added_by"))


def _emit(principal, type_, plugin, obj, **data):
    emit(principal, type_, subject=("plugin", plugin.plugin_id),
         data={"pluginId": plugin.plugin_id, "configObjectId": obj.pk, "configObjectType": obj.type, **data})


def add_config_object_to_plugin(principal, plugin, obj, source=MembershipSource.API, now=None):
    """Make `obj` a member of `plugin` (both of the principal's organization); (membership, created).
    The editor role on the object, then on the plugin. A new or returning member emits
    bundle.config_object_added; an active one changes nothing."""
    if plugin.organization_id != principal.organization.pk or obj.organization_id != principal.organization.pk:
        raise NotFound("No such plugin or config object in this organization.")
    access.require_role(principal, CONFIG_OBJECT, obj.pk, access.EDITOR, MEMBER_OBJECT_EDIT)
    require_plugin_role(principal, plugin, access.EDITOR, MEMBERSHIP_EDIT)
    with transaction.atomic():
        row, created, was_active = activate(
            PluginConfigObject, {"plugin": plugin, "config_object": obj},
            {"organization": principal.organization, "source": source, "added_by": principal.user}, now=now,
        )
        if not was_active:
            _emit(principal, "bundle.config_object_added", plugin, obj, source=str(source))
    return row, created


def remove_config_object_from_plugin(principal, plugin, obj, now=None):
    """Soft-remove the membership; NotFound when `obj` is not an active member of `plugin`. The viewer role on
    the object, the editor role on the plugin."""
    access.require_role(principal, CONFIG_OBJECT, obj.pk, access.VIEWER)
    require_plugin_role(principal, plugin, access.EDITOR, MEMBERSHIP_EDIT)
    with transaction.atomic():
        deactivate(
            PluginConfigObject, {"organization": principal.organization, "plugin": plugin, "config_object": obj},
            NotFound(f"Config object {obj.pk} is not a member of plugin {plugin.plugin_id}.",
                     title="Membership not found"),
            now,
        )
        _emit(principal, "bundle.config_object_removed", plugin, obj)


def plugins_of_config_object(principal, object_id):
    """The active memberships of a config object in the plugins the caller can view; the viewer role on the
    object."""
    obj = config_objects.get_config_object(principal, object_id)
    memberships = plugin_memberships(principal.organization).filter(config_object=obj)
    return access.restrict(memberships, principal, PLUGIN, field="plugin_id")


def config_objects_of_plugin(principal, plugin_id):
    """The active memberships of a plugin's config objects; the viewer role on the plugin."""
    plugin = lookup_plugin(principal.organization, plugin_id)
    require_plugin_role(principal, plugin, access.VIEWER)
    return plugin_memberships(principal.organization).filter(plugin=plugin)


def create_config_object_in_plugins(principal, type_, source_mode, data, plugin_ids=(), source=MembershipSource.API):
    """Create a config object (with its first version) as a member of these plugins; all or nothing. The
    memberships record `source` (the API's, or the admin's).

    Any person of the organization (not a plugin key), with the editor role on each plugin; a member who
    creates it becomes the object's manager.
    """
    access.require_member_capability(principal, "Creating a config object")
    plugins = [lookup_plugin(principal.organization, plugin_id) for plugin_id in dict.fromkeys(plugin_ids or ())]
    for plugin in plugins:
        require_plugin_role(principal, plugin, access.EDITOR,
                            f"Adding a config object to plugin {plugin.plugin_id} needs the editor role on it")
    with transaction.atomic():
        obj, version = config_objects.create_config_object(principal, type_, source_mode, data)
        for plugin in plugins:
            add_config_object_to_plugin(principal, plugin, obj, source=source)
    return obj, version


# The resolved plugin


def member_objects(plugins):
    """{plugin pk: [config objects with their latest version summary]} in one query, active members only."""
    rows = (PluginConfigObject.objects
            .filter(plugin__in=plugins, removed_at__isnull=True, config_object__deleted_at__isnull=True)
            .select_related("config_object", "config_object__created_by")
            .annotate(**config_objects.latest_version_annotations("config_object_id"))
            .order_by("config_object__title", "config_object_id"))
    members = {plugin.pk: [] for plugin in plugins}
    for row in rows:
        obj = row.config_object
        for name in config_objects.LATEST_VERSION_FIELDS:
            setattr(obj, f"latest_version_{name}", getattr(row, f"latest_version_{name}"))
        members[row.plugin_id].append(obj)
    return members


@dataclass
class ResolvedPlugin:
    plugin: Plugin
    config_objects: list


def resolve_plugin(principal, plugin_id):
    """The plugin and each active, non-deleted member object with its latest version (two queries); the viewer
    role on the plugin."""
    plugin = lookup_plugin(principal.organization, plugin_id)
    require_plugin_role(principal, plugin, access.VIEWER)
    return ResolvedPlugin(plugin, member_objects([plugin])[plugin.pk])
