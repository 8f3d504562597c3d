"""The extensions seed's MCP HTTP routes under /ext/mcp_http/."""

from django.urls import path

from mcp_server.api import views

app_name = "mcp-http-api"

urlpatterns = [
    path("mcp_http/meta", views.MetaView.as_view(), name="meta"),
    path("mcp_http/handshake", views.HandshakeView.as_view(), name="handshake"),
    path("mcp_http/tools", views.ToolsView.as_view(), name="tools"),
    path("mcp_http/invoke", views.InvokeView.as_view(), name="invoke"),
]
