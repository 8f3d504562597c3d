"""The plugins' core routes, under /api/v1/: the permissions and capabilities an organization grants a plugin.

/plugins and /plugins/<plugin_id> (the catalog with member counts and marketplaces) are mounted from
marketplaces.api.urls, whose view extends PluginViewSet and PluginSerializer; the lifecycle routes
(install, enable, disable, uninstall) from dependencies.api.urls.
"""

from django.urls import include, path

from plexica.plugins.api.views import CapabilityGrantDetailView, CapabilityGrantView, PermissionGrantViewSet

app_name = "plugins-api"

v1_patterns = [
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
    path("plugins/<str:plugin_id>/capabilities", CapabilityGrantView.as_view(), name="capability-list"),
    path("plugins/<str:plugin_id>/capabilities/<str:capability>", CapabilityGrantDetailView.as_view(),
         name="capability-detail"),
]

urlpatterns = [path("v1/", include(v1_patterns))]
