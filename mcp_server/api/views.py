"""The extensions seed's MCP HTTP shape (`/ext/mcp_http/meta`, `handshake`, `tools`, `invoke`), for clients
written against Ordinaut's REST imitation: the same tools and rules as `/mcp` (plexica.tools)."""

import secrets

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

import plexica
from mcp_server.api import serializers as s
from plexica import tools
from plexica.api.views import TenantAPIView
from plexica.tenancy.models import ApiKey

SERVER_NAME = "plexica-mcp-http"
CAPABILITIES = ["handshake", "list_tools", "invoke", "schema"]
REVISIONS = ["2026-07-28", "2025-11-25"]
ANY_SCOPE = tuple(ApiKey.Scope.values)  # each tool checks the scopes of its own operation
TAGS = ["extensions"]


def seed_tool(tool):
    body = {"name": tool.name, "description": tool.description, "parameters": tool.input_schema}
    if tool.output_schema is not None:
        body["output"] = tool.output_schema
    return body


class MetaView(APIView):
    authentication_classes = []
    permission_classes = []
    schema_tags = TAGS

    @extend_schema(operation_id="getMcpHttpMeta", summary="The MCP HTTP server: name, version, capabilities",
                   responses=s.MetaSerializer, auth=[])
    def get(self, request):
        return Response({"server": SERVER_NAME, "version": plexica.__version__, "capabilities": CAPABILITIES,
                         "mcp": {"path": "/mcp", "transport": "streamable-http", "revisions": REVISIONS}})


class McpHttpAPI(TenantAPIView):
    required_scopes = {"GET": ANY_SCOPE, "HEAD": ANY_SCOPE, "OPTIONS": ANY_SCOPE, "POST": ANY_SCOPE}
    schema_tags = TAGS
    queryset = ApiKey.objects.none()


class HandshakeView(McpHttpAPI):
    @extend_schema(operation_id="mcpHttpHandshake", summary="Greet the server", request=s.HandshakeSerializer,
                   responses=s.HandshakeAnswer)
    def post(self, request):
        s.HandshakeSerializer(data=request.data).is_valid(raise_exception=True)
        return Response({"server": {"name": SERVER_NAME, "version": plexica.__version__},
                         "session_id": f"sess_{secrets.token_urlsafe(12)}"})


class ToolsView(McpHttpAPI):
    @extend_schema(operation_id="listMcpHttpTools", summary="The tools this caller may use",
                   responses=s.ToolListSerializer)
    def get(self, request):
        return Response({"tools": [seed_tool(tool) for tool in tools.list_tools(request.principal)]})


class InvokeView(McpHttpAPI):
    error_statuses = (404,)  # no such tool for this caller

    @extend_schema(
        operation_id="invokeMcpHttpTool", summary="Call a tool", request=s.InvokeSerializer,
        responses={200: OpenApiResponse(s.InvokeAnswer, description="The tool ran: `success` and its `result`, "
                                        "or `success: false` and the tool's `error` (code, status, message, "
                                        "details: a refusal, a rate limit, an upstream failure).")},
        description="An unknown tool (or one this caller may not use) is 404; parameters that do not match the "
                    "tool's schema are 400 naming each JSON pointer.")
    def post(self, request):
        serializer = s.InvokeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with tools.request_scope():
            result = tools.call_tool(request.principal, serializer.validated_data["tool"],
                                     serializer.validated_data["parameters"])
        if result.is_error:
            return Response({"success": False, "error": result.error})
        return Response({"success": True, "result": result.data})
