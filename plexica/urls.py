from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from plexica import ops
from plexica.observability.views import MetricsView
from plexica.api.errors import api_not_found

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("healthz", ops.HealthzView.as_view(), name="healthz"),
    path("readyz", ops.ReadyzView.as_view(), name="readyz"),
    path("api/v1/status", ops.StatusView.as_view(), name="status"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("ext/observability/metrics", MetricsView.as_view(), name="ext-observability-metrics"),
    # One include per app; each app's api/urls.py names its own "v1/..." and "plugin-gateway/..." routes.
    path("api/", include("plexica.tenancy.api.urls")),
    path("api/", include("plexica.plugins.api.urls")),
    path("api/", include("plexica.events.api.urls")),
    path("api/", include("registry.api.urls")),
    path("api/", include("gateway.api.urls")),
    path("api/", include("shareddata.api.urls")),
    path("api/", include("dependencies.api.urls")),
    path("api/", include("marketplaces.api.urls")),
    path("api/", include("webhooks.api.urls")),
    path("api/", include("connectors.api.urls")),
    path("ext/", include("observability.api.urls")),
    path("ext/", include("mcp_server.api.urls")),
    path("", include("mcp_server.urls")),  # /mcp under WSGI; the ASGI process mounts it directly (plexica.asgi)
    re_path(r"^ext/", api_not_found),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    re_path(r"^api/", api_not_found),
]

handler400 = "plexica.api.errors.handler400"
handler403 = "plexica.api.errors.handler403"
handler404 = "plexica.api.errors.handler404"
handler500 = "plexica.api.errors.handler500"
