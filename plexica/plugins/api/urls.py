from django.urls import path

from plexica.plugins.api.views import PermissionGrantViewSet

app_name = "plugins-api"

# /plugins and /plugins/<plugin_id> (the catalog with member counts and marketplaces) are mounted from
# marketplaces.api.urls, whose view extends PluginViewSet and PluginSerializer.

urlpatterns = [
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
