"""The gateway's routes: the call proxy under /api/plugin-gateway/, and a plugin's tools (their exposure to
members) under /api/v1/."""

from django.urls import include, path

from gateway.api.views import CallView, PluginToolExposureView, PluginToolListView

app_name = "gateway-api"

gateway_patterns = [path("call", CallView.as_view(), name="call")]

v1_patterns = [
    path("plugins/<str:plugin_id>/tools", PluginToolListView.as_view(), name="tool-list"),
    path("plugins/<str:plugin_id>/tools/<str:tool_name>/exposure", PluginToolExposureView.as_view(),
         name="tool-exposure"),
]

urlpatterns = [path("plugin-gateway/", include(gateway_patterns)), path("v1/", include(v1_patterns))]
