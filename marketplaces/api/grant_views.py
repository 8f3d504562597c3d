"""The grant endpoints of config objects, plugins and marketplaces (the access service's grant API)."""

from marketplaces import composition, services
from marketplaces.sharing import CONFIG_OBJECT, MARKETPLACE
from plexica.access.api.views import grant_viewset
from plexica.plugins.sharing import PLUGIN

ConfigObjectGrantViewSet = grant_viewset(
    "ConfigObject", CONFIG_OBJECT, "config_object_id",
    lambda request, pk: services.get_config_object(request.tenant, pk, include_deleted=True).pk,
    "config objects", "A config object id (cfo_...).",
)
PluginGrantViewSet = grant_viewset(
    "Plugin", PLUGIN, "plugin_id",
    lambda request, plugin_id: composition.get_plugin(request.tenant, plugin_id).pk,
    "plugins", "A plugin id (plugin-...).",
)
MarketplaceGrantViewSet = grant_viewset(
    "Marketplace", MARKETPLACE, "marketplace_id",
    lambda request, pk: composition.get_marketplace(request.tenant, pk, include_deleted=True).pk,
    "marketplaces", "A marketplace id (mkt_...).",
)
