"""Config objects and marketplaces as shareable resource types, and the viewer access they pass on.

- a plugin in an active marketplace the caller can see is viewable;
- a config object in a plugin the caller can view (directly or through a marketplace) is viewable,
  unless the plugin is deleted.
"""

from marketplaces.catalog.models import Marketplace, MarketplacePlugin, PluginConfigObject
from marketplaces.config_objects.models import ConfigObject
from plexica.access import registry
from plexica.access import services as access
from plexica.plugins.models import Plugin
from plexica.plugins.sharing import PLUGIN

CONFIG_OBJECT = "config_object"
MARKETPLACE = "marketplace"


def visible_marketplace_ids(principal):
    """A subquery of the active marketplaces the caller can see (all of them for org admins)."""
    marketplaces = Marketplace.objects.filter(organization=principal.organization,
                                              status=Marketplace.Status.ACTIVE, deleted_at__isnull=True)
    if not principal.is_org_admin:
        marketplaces = marketplaces.filter(pk__in=access.granted_ids(principal, MARKETPLACE))
    return marketplaces.values("pk")


def _plugins_in_visible_marketplaces(principal):
    return MarketplacePlugin.objects.filter(
        marketplace_id__in=visible_marketplace_ids(principal), removed_at__isnull=True
    ).values("plugin_id")


def _objects_in_viewable_plugins(principal):
    plugins = Plugin.objects.filter(pk__in=access.accessible_ids(principal, PLUGIN)).exclude(
        catalog_status=Plugin.CatalogStatus.DELETED).values("pk")
    return PluginConfigObject.objects.filter(plugin_id__in=plugins, removed_at__isnull=True).values(
        "config_object_id")


def _live(model):
    def find(organization, resource_id):
        return model.objects.filter(organization=organization, pk=resource_id, deleted_at__isnull=True).first()
    return find


def register():
    registry.register(registry.ShareableType(
        key=CONFIG_OBJECT, noun="config object", model="marketplaces.ConfigObject",
        id_help="cfo_... for a config object", admin_url_name="marketplaces_configobject_change",
        lookup=_live(ConfigObject), viewable_through=[_objects_in_viewable_plugins],
    ))
    registry.register(registry.ShareableType(
        key=MARKETPLACE, noun="marketplace", model="marketplaces.Marketplace",
        id_help="mkt_... for a marketplace", admin_url_name="marketplaces_marketplace_change",
        lookup=_live(Marketplace),
    ))
    registry.add_viewable_through(PLUGIN, _plugins_in_visible_marketplaces)
