"""The gateway's route, under /api/plugin-gateway/: the call proxy."""

from django.urls import include, path

from gateway.api.views import CallView

app_name = "gateway-api"

gateway_patterns = [path("call", CallView.as_view(), name="call")]

urlpatterns = [path("plugin-gateway/", include(gateway_patterns))]
