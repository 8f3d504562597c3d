from django.urls import path

from marketplaces.api.composition_views import (
    ConfigObjectPluginViewSet,
    MarketplacePluginViewSet,
    MarketplaceViewSet,
    PluginConfigObjectViewSet,
)
from marketplaces.api.grant_views import ConfigObjectGrantViewSet, MarketplaceGrantViewSet, PluginGrantViewSet
from marketplaces.api.plugin_views import CatalogPluginViewSet
from marketplaces.api.views import ConfigObjectVersionViewSet, ConfigObjectViewSet
from plexica.access.api.views import grant_routes

app_name = "marketplaces-api"

OBJECT = "config-objects/<str:config_object_id>"
VERSIONS = ConfigObjectVersionViewSet
PLUGIN = "plugins/<str:plugin_id>"
MARKETPLACE = "marketplaces/<str:marketplace_id>"

CATALOG = CatalogPluginViewSet


urlpatterns = [
    *grant_routes(OBJECT, ConfigObjectGrantViewSet, "config-object"),
    *grant_routes(PLUGIN, PluginGrantViewSet, "plugin"),
    *grant_routes(MARKETPLACE, MarketplaceGrantViewSet, "marketplace"),
    path("plugins", CATALOG.as_view({"get": "list", "post": "create"}), name="plugin-list"),
    path(PLUGIN, CATALOG.as_view({"get": "retrieve", "patch": "partial_update"}), name="plugin-detail"),
    path(f"{PLUGIN}/archive", CATALOG.as_view({"post": "archive"}), name="plugin-archive"),
    path(f"{PLUGIN}/restore", CATALOG.as_view({"post": "restore"}), name="plugin-restore"),
    path("config-objects", ConfigObjectViewSet.as_view({"get": "list", "post": "create"}), name="config-object-list"),
    path(OBJECT, ConfigObjectViewSet.as_view({"get": "retrieve", "delete": "destroy"}), name="config-object-detail"),
    path(f"{OBJECT}/archive", ConfigObjectViewSet.as_view({"post": "archive"}), name="config-object-archive"),
    path(f"{OBJECT}/restore", ConfigObjectViewSet.as_view({"post": "restore"}), name="config-object-restore"),
    path(f"{OBJECT}/versions", VERSIONS.as_view({"get": "list", "post": "create"}), name="version-list"),
    path(f"{OBJECT}/versions/latest", VERSIONS.as_view({"get": "latest"}), name="version-latest"),
    path(f"{OBJECT}/versions/compare", VERSIONS.as_view({"get": "compare"}), name="version-compare"),
    path(f"{OBJECT}/versions/<str:version_id>", VERSIONS.as_view({"get": "retrieve"}), name="version-detail"),
    path(f"{OBJECT}/plugins", ConfigObjectPluginViewSet.as_view({"get": "list", "post": "create"}),
         name="config-object-plugin-list"),
    path(f"{OBJECT}/plugins/<str:plugin_id>", ConfigObjectPluginViewSet.as_view({"delete": "destroy"}),
         name="config-object-plugin-detail"),
    path(f"{PLUGIN}/config-objects", PluginConfigObjectViewSet.as_view({"get": "list", "post": "create"}),
         name="plugin-config-object-list"),
    path(f"{PLUGIN}/config-objects/<str:config_object_id>", PluginConfigObjectViewSet.as_view({"delete": "destroy"}),
         name="plugin-config-object-detail"),
    path(f"{PLUGIN}/resolved", PluginConfigObjectViewSet.as_view({"get": "resolved"}), name="plugin-resolved"),
    path("marketplaces", MarketplaceViewSet.as_view({"get": "list", "post": "create"}), name="marketplace-list"),
    path(MARKETPLACE, MarketplaceViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
         name="marketplace-detail"),
    path(f"{MARKETPLACE}/archive", MarketplaceViewSet.as_view({"post": "archive"}), name="marketplace-archive"),
    path(f"{MARKETPLACE}/restore", MarketplaceViewSet.as_view({"post": "restore"}), name="marketplace-restore"),
    path(f"{MARKETPLACE}/resolved", MarketplaceViewSet.as_view({"get": "resolved"}), name="marketplace-resolved"),
    path(f"{MARKETPLACE}/plugins", MarketplacePluginViewSet.as_view({"get": "list", "post": "create"}),
         name="marketplace-plugin-list"),
    path(f"{MARKETPLACE}/plugins/<str:plugin_id>", MarketplacePluginViewSet.as_view({"delete": "destroy"}),
         name="marketplace-plugin-detail"),
]
