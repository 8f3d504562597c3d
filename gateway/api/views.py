from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from gateway.api.serializers import CallResponseSerializer, CallSerializer, PluginToolSerializer
from gateway.services import call_plugin
from gateway.tools import expose_tool, plugin_tool_entries, unexpose_tool
from plexica.api.permissions import IsOrgAdmin, TenantAccess
from plexica.api.schema import mutation_envelope
from plexica.api.views import TenantAPIView, mutation_response
from plexica.tools import TOOL_NAME

# Statuses that cannot carry our JSON envelope are answered 200; the envelope keeps the real one.
_ENVELOPE_UNSAFE = {204, 304}


class CallView(TenantAPIView):
    schema_tags = ["plugin gateway: calls"]
    accepts_nul_characters = True  # the call's body is the upstream's business, passed on as given
    error_statuses = (404, 502, 503, 504)  # no such target service or endpoint; upstream failures
    upstream_answer = CallResponseSerializer  # any status may also be the upstream's own, in the envelope
    # A key with `ext:{pluginId}:routes` scopes may call those plugins without the gateway scope (the service
    # refuses any other target with a 403 naming the scope).
    plugin_routes_scopes_admit = True

    @extend_schema(
        operation_id="callPluginApi",
        request=CallSerializer,
        responses={
            200: CallResponseSerializer,
            "default": OpenApiResponse(CallResponseSerializer, description="The upstream's own status, passed on."),
        },
        description=(
            "Call an endpoint of another plugin's service. The answer carries the upstream's status code, "
            "parsed body and headers. A key carrying `ext:{pluginId}:routes` scopes may call only those "
            "plugins: another target is a 403 whose `required_scopes` names the scope it needs."
        ),
    )
    def post(self, request):
        serializer = CallSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = call_plugin(
            request.principal, serializer.call_request(), request_id=request._request.request_id,
            traceparent=request.headers.get("traceparent"),
        )
        status = 200 if result.status in _ENVELOPE_UNSAFE or result.status < 200 else result.status
        return Response({"status": result.status, "data": result.data, "headers": result.headers}, status=status)


TOOL_NAME_PARAMETER = OpenApiParameter(
    "tool_name", {"type": "string", "pattern": TOOL_NAME.pattern, "maxLength": 128}, OpenApiParameter.PATH,
    description="The tool's name, `<pluginId>.<serviceName>.<toolName>` (as `GET .../tools` lists it).")


@extend_schema(tags=["plugins"])
class PluginToolListView(TenantAPIView):
    """The plugin's tool endpoints (endpoints whose registration declares an inputSchema) and their exposure."""

    # The services admit org admins only; IsOrgAdmin (the same rule) answers before anything is read.
    permission_classes = [TenantAccess, IsOrgAdmin]

    @extend_schema(
        operation_id="listPluginTools",
        responses=inline_serializer("PluginToolList", {
            "items": PluginToolSerializer(many=True),
            "nextCursor": serializers.CharField(allow_null=True, help_text="Always null: one page holds them all."),
        }),
        description="Every tool endpoint of the plugin's services, whatever their health, with whether callers "
                    "are offered it now and whether it is exposed to members; then the exposures whose endpoint "
                    "is registered no more (`registered: false`). Org admins only.",
    )
    def get(self, request, plugin_id):
        _plugin, entries = plugin_tool_entries(request.principal, plugin_id)
        return Response({"items": PluginToolSerializer(entries, many=True).data, "nextCursor": None})


@extend_schema(tags=["plugins"])
class PluginToolExposureView(TenantAPIView):
    """Whether members may call one of the plugin's tools (org admins may call all of them)."""

    permission_classes = [TenantAccess, IsOrgAdmin]

    @extend_schema(
        operation_id="exposePluginTool", parameters=[TOOL_NAME_PARAMETER], request=None,
        responses={201: mutation_envelope("PluginToolExposed", PluginToolSerializer()),
                   200: mutation_envelope("PluginToolAlreadyExposed", PluginToolSerializer())},
        description="Expose the tool to the organization's members: 201 when newly exposed (`tool.exposed` is "
                    "emitted), 200 when it was already; 404 when the plugin registers no such tool now.",
    )
    def put(self, request, plugin_id, tool_name):
        entry, created = expose_tool(request.principal, plugin_id, tool_name)
        return mutation_response(PluginToolSerializer(entry).data, status=201 if created else 200)

    @extend_schema(
        operation_id="unexposePluginTool", parameters=[TOOL_NAME_PARAMETER], responses={204: None},
        description="Stop exposing the tool to members (`tool.unexposed` is emitted); 404 when it is not exposed.",
    )
    def delete(self, request, plugin_id, tool_name):
        unexpose_tool(request.principal, plugin_id, tool_name)
        return Response(status=204)
