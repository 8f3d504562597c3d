"""Plugins as a shareable resource type: grants name them by pk (plg_), the API by pluginId (plugin-...).

A plugin's own API key may view its plugin (and, through it, what other apps let a plugin's viewers see).
"""

from plexica.access import registry
from plexica.plugins.models import Plugin

PLUGIN = "plugin"


def _find(organization, resource_id):
    key = "pk" if resource_id.startswith("plg_") else "plugin_id"
    return Plugin.objects.filter(organization=organization, **{key: resource_id}).exclude(
        catalog_status=Plugin.CatalogStatus.DELETED).first()


def _own_plugin(principal):
    return [principal.plugin.pk] if principal.plugin is not None else []


def register():
    registry.register(registry.ShareableType(
        key=PLUGIN, noun="plugin", model="plugins.Plugin", id_help="plg_... or plugin-... for a plugin",
        public_id_field="plugin_id", admin_url_name="plugins_plugin_change", lookup=_find,
        viewable_through=[_own_plugin],
    ))
