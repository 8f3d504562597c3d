from django.urls import path

from marketplaces.api.delivery_views import (
    ClientStateViewSet,
    DeliveryConfigObjectViewSet,
    DeliveryPluginViewSet,
)

app_name = "delivery-api"

PLUGIN = "plugins/<str:plugin_id>"
CLIENT = "clients/<str:client_id>"
PLUGINS = DeliveryPluginViewSet
CLIENTS = ClientStateViewSet

urlpatterns = [
    path("plugins", PLUGINS.as_view({"get": "list"}), name="plugin-list"),
    path(PLUGIN, PLUGINS.as_view({"get": "retrieve"}), name="plugin-detail"),
    path(f"{PLUGIN}/manifest", PLUGINS.as_view({"get": "manifest"}), name="plugin-manifest"),
    path(f"{PLUGIN}/download", PLUGINS.as_view({"get": "download"}), name="plugin-download"),
    path("config-objects/<str:config_object_id>/download",
         DeliveryConfigObjectViewSet.as_view({"get": "download"}), name="config-object-download"),
    path(f"{CLIENT}/state", CLIENTS.as_view({"get": "retrieve", "post": "replace"}), name="client-state"),
    path(f"{CLIENT}/check-updates", CLIENTS.as_view({"get": "check_updates"}), name="client-check-updates"),
]
