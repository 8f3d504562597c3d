from django.urls import path

from plexica.plugins.api.views import PluginViewSet

app_name = "plugins-api"

urlpatterns = [
    path("plugins", PluginViewSet.as_view({"get": "list"}), name="plugin-list"),
    path("plugins/<str:plugin_id>", PluginViewSet.as_view({"get": "retrieve"}), name="plugin-detail"),
]
