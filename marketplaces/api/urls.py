"""The marketplaces app's routes, under /api/v1/, each group in its URL namespace: config objects and their
versions, the plugin catalog, plugin membership, marketplaces and grants (marketplaces-api); plugin releases
(releases-api); delivery to clients, under /api/v1/delivery/ (delivery-api)."""

from django.urls import include, path

from marketplaces.catalog.api.views import (
    CatalogPluginViewSet,
    ConfigObjectPluginViewSet,
    MarketplaceGrantViewSet,
    MarketplacePluginViewSet,
    MarketplaceViewSet,
    PluginConfigObjectViewSet,
    PluginGrantViewSet,
)
from marketplaces.config_objects.api.views import (
    ConfigObjectGrantViewSet,
    ConfigObjectVersionViewSet,
    ConfigObjectViewSet,
)
from marketplaces.delivery.api.views import (
    ClientStateViewSet,
    DeliveryConfigObjectViewSet,
    DeliveryPluginViewSet,
    PluginReleaseViewSet,
)
from plexica.access.api.views import grant_routes

OBJECT = "config-objects/<str:config_object_id>"
VERSIONS = ConfigObjectVersionViewSet
PLUGIN = "plugins/<str:plugin_id>"
MARKETPLACE = "marketplaces/<str:marketplace_id>"

CATALOG = CatalogPluginViewSet
RELEASES = f"{PLUGIN}/releases"
CLIENT = "clients/<str:client_id>"
CLIENTS = ClientStateViewSet
DELIVERED = DeliveryPluginViewSet

marketplace_patterns = [
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

release_patterns = [
    path(RELEASES, PluginReleaseViewSet.as_view({"get": "list", "post": "create"}), name="release-list"),
    path(f"{RELEASES}/unpin", PluginReleaseViewSet.as_view({"post": "unpin"}), name="release-unpin"),
    path(f"{RELEASES}/<str:release_id>", PluginReleaseViewSet.as_view({"get": "retrieve"}), name="release-detail"),
    path(f"{RELEASES}/<str:release_id>/pin", PluginReleaseViewSet.as_view({"post": "pin"}), name="release-pin"),
]

delivery_patterns = [
    path("plugins", DELIVERED.as_view({"get": "list"}), name="plugin-list"),
    path(PLUGIN, DELIVERED.as_view({"get": "retrieve"}), name="plugin-detail"),
    path(f"{PLUGIN}/manifest", DELIVERED.as_view({"get": "manifest"}), name="plugin-manifest"),
    path(f"{PLUGIN}/download", DELIVERED.as_view({"get": "download"}), name="plugin-download"),
    path("config-objects/<str:config_object_id>/download",
         DeliveryConfigObjectViewSet.as_view({"get": "download"}), name="config-object-download"),
    path(f"{CLIENT}/state", CLIENTS.as_view({"get": "retrieve", "post": "replace"}), name="client-state"),
    path(f"{CLIENT}/check-updates", CLIENTS.as_view({"get": "check_updates"}), name="client-check-updates"),
]

urlpatterns = [
    path("v1/", include((marketplace_patterns, "marketplaces-api"))),
    path("v1/", include((release_patterns, "releases-api"))),
    path("v1/delivery/", include((delivery_patterns, "delivery-api"))),
]
