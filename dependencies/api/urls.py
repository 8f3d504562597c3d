from django.urls import path

from dependencies.api import views

app_name = "dependencies-api"

urlpatterns = [
    path("dependencies", views.RegisterDependenciesView.as_view(), name="dependency-register"),
    path("dependencies/<str:plugin_id>", views.PluginDependenciesView.as_view(), name="dependency-list"),
    path("dependencies/<str:plugin_id>/resolve", views.ResolveDependenciesView.as_view(), name="dependency-resolve"),
    path("dependencies/<str:plugin_id>/dependents", views.DependentsView.as_view(), name="dependent-list"),
    path(
        "dependencies/<str:plugin_id>/can-uninstall", views.CanUninstallView.as_view(), name="dependency-can-uninstall"
    ),
]
