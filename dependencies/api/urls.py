"""The dependencies app's routes: the dependency graph under /api/plugin-gateway/, and the plugin lifecycle
(/api/v1/plugins/{pluginId}/install|enable|disable|uninstall) under /api/v1/.

The lifecycle routes live in this app (not in plexica.plugins) because their checks need the dependency graph
and the service registry, and nothing in plexica imports a feature app. Each group keeps its URL namespace.
"""

from django.urls import include, path

from dependencies.api import views

gateway_patterns = [
    path("dependencies", views.RegisterDependenciesView.as_view(), name="dependency-register"),
    path("dependencies/<str:plugin_id>", views.PluginDependenciesView.as_view(), name="dependency-list"),
    path("dependencies/<str:plugin_id>/resolve", views.ResolveDependenciesView.as_view(), name="dependency-resolve"),
    path("dependencies/<str:plugin_id>/dependents", views.DependentsView.as_view(), name="dependent-list"),
    path(
        "dependencies/<str:plugin_id>/can-uninstall", views.CanUninstallView.as_view(), name="dependency-can-uninstall"
    ),
]

lifecycle_patterns = [
    path("plugins/<str:plugin_id>/install", views.InstallPluginView.as_view(), name="plugin-install"),
    path("plugins/<str:plugin_id>/enable", views.EnablePluginView.as_view(), name="plugin-enable"),
    path("plugins/<str:plugin_id>/disable", views.DisablePluginView.as_view(), name="plugin-disable"),
    path("plugins/<str:plugin_id>/uninstall", views.UninstallPluginView.as_view(), name="plugin-uninstall"),
]

urlpatterns = [
    path("plugin-gateway/", include((gateway_patterns, "dependencies-api"))),
    path("v1/", include((lifecycle_patterns, "plugin-lifecycle-api"))),
]
