from django.urls import path

from mcp_server.bridge import mcp_view

urlpatterns = [path("mcp", mcp_view, name="mcp")]
