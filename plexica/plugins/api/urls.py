from django.urls import path

from plexica.plugins.api.views import PermissionGrantViewSet, PluginViewSet

app_name = "plugins-api"

urlpatterns = [
    path("plugins", PluginViewSet.as_view({"get": "list"}), name="plugin-list"),
    path("plugins/<str:plugin_id>", PluginViewSet.as_view({"get": "retrieve"}), name="plugin-detail"),
    path(
        "plugins/<str:plugin_id>/permissions",
        PermissionGrantViewSet.as_view({"get": "list", "post": "create"}),
        name="permission-list",
    ),
    path(
        "plugins/<str:plugin_id>/permissions/<str:permission>",
        PermissionGrantViewSet.as_view({"delete": "destroy"}),
        name="permission-detail",
    ),
]
