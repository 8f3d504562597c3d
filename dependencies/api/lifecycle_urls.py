"""/api/v1/plugins/{pluginId}/install|enable|disable|uninstall: mounted from plexica/urls.py.

They live in this app (not in plexica.plugins) because their checks need the dependency graph and the
service registry, and nothing in plexica imports a feature app.
"""

from django.urls import path

from dependencies.api import views

app_name = "plugin-lifecycle-api"

urlpatterns = [
    path("plugins/<str:plugin_id>/install", views.InstallPluginView.as_view(), name="plugin-install"),
    path("plugins/<str:plugin_id>/enable", views.EnablePluginView.as_view(), name="plugin-enable"),
    path("plugins/<str:plugin_id>/disable", views.DisablePluginView.as_view(), name="plugin-disable"),
    path("plugins/<str:plugin_id>/uninstall", views.UninstallPluginView.as_view(), name="plugin-uninstall"),
]
