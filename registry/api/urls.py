"""The service registry's routes, under /api/plugin-gateway/."""

from django.urls import include, path

from registry.api import views

app_name = "registry-api"

# Order matters: "discover" and "heartbeat" are never service names (those contain a dot).
gateway_patterns = [
    path("services/register", views.RegisterServiceView.as_view(), name="service-register"),
    path("services", views.ListServicesView.as_view(), name="service-list"),
    path("services/discover/<str:service_name>", views.DiscoverServiceView.as_view(), name="service-discover"),
    path("services/<str:service_id>/heartbeat", views.HeartbeatView.as_view(), name="service-heartbeat"),
    path("services/<str:plugin_id>/<str:service_name>", views.DeregisterServiceView.as_view(), name="service-detail"),
]

urlpatterns = [path("plugin-gateway/", include(gateway_patterns))]
